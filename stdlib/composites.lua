-- composites: the primitives made of other primitives, so that a site that
-- replaces one (`mount`, `fsck`, `umount`) changes what is made of it too.
--
-- hanfs loads this module into every script's state, before the script
-- runs. While `mount`, `fsck` and `umount` are hanfs's own, `mount_all` and
-- `umount_all` are hanfs's parallel ones (several file systems at once, up
-- to the package's concurrency). Once a site has replaced one of them, for
-- instance in /etc/hanfs/site.lua:
--
--   local plain_mount = mount
--   function mount(fs, options)
--     log.info("site: mounting " .. fs.directory)
--     return plain_mount(fs, options)
--   end
--
-- then every file system goes through the site's function, one at a time,
-- parents before children (unmounted children first), with the same
-- all-or-nothing rule: when one mount fails, what this call mounted is
-- unmounted again.

local own = { fsck = fsck, mount = mount, umount = umount }
local parallel_mount_all, parallel_umount_all = mount_all, umount_all

-- How deep a mount point is: "/" 0, "/srv" 1, "/srv/a" 2.
local function depth(fs)
  local _, n = fs.directory:gsub("/[^/]+", "")
  return n
end

-- The list in mount order (shallowest first, else as listed), or the reverse.
local function ordered(list, deepest_first)
  local items = {}
  for i, fs in ipairs(list) do items[i] = { fs = fs, i = i, depth = depth(fs) } end
  table.sort(items, function(a, b)
    if a.depth ~= b.depth then
      if deepest_first then return a.depth > b.depth end
      return a.depth < b.depth
    end
    if deepest_first then return a.i > b.i end
    return a.i < b.i
  end)
  local r = {}
  for i, item in ipairs(items) do r[i] = item.fs end
  return r
end

local function replaced(name) return not rawequal(_G[name], own[name]) end

function mount_all(list, options)
  if not (replaced("mount") or replaced("fsck")) then return parallel_mount_all(list, options) end
  options = options or {}
  local pkg = rawget(_G, "pkg")
  local policy = options.run_fsck or (pkg and pkg.run_fsck) or "auto"
  local results, mounted = {}, {}
  local ok, err = pcall(function()
    for _, fs in ipairs(ordered(list, false)) do
      fsck(fs, { run_fsck = policy, timeout = options.fsck_timeout })
      local outcome = mount(fs, { timeout = options.timeout, retries = options.retries })
      if outcome == "done" then mounted[#mounted + 1] = fs end
      results[#results + 1] = { directory = fs.directory, outcome = outcome }
    end
  end)
  if ok then return results end
  if #mounted > 0 and not stopping() then
    log.warn("mount failed: unmounting the " .. #mounted .. " file system(s) this step mounted")
    for i = #mounted, 1, -1 do pcall(umount, mounted[i], { timeout = options.umount_timeout, retries = 0 }) end
  end
  error(err, 0)
end

function umount_all(list, options)
  if not replaced("umount") then return parallel_umount_all(list, options) end
  options = options or {}
  local results, failed = {}, {}
  for _, fs in ipairs(ordered(list, true)) do
    local ok, outcome = pcall(umount, fs, { timeout = options.timeout, retries = options.retries })
    if not ok then failed[#failed + 1] = tostring(outcome) end
    results[#results + 1] = { directory = fs.directory, outcome = ok and outcome or "failed" }
  end
  if #failed == 1 then error(failed[1], 0) end
  if #failed > 1 then
    error("umount failed for " .. #failed .. " file systems: " .. table.concat(failed, "; "), 0)
  end
  return results
end
