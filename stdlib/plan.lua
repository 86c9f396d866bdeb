-- plan: the package's parts, declared once, and the site's hooks.
--
-- A package is six parts, in the order they start (the NFS toolkit's
-- hanfs.sh): its volume groups, its file systems (checked, then mounted),
-- its NFS server (the kernel's exports, or NFS-Ganesha run for the
-- package), its addresses (clients reach the service only once it is
-- there), its NFSv3 lock state (lock migration), and its monitor (where
-- hanfs, not the cluster manager, runs it). Each part says here how it
-- starts, how it stops, how it looks (`hanfs status`) and what the monitor
-- checks. start.lua runs the parts forward, stop.lua in reverse, status.lua
-- and the monitor go through them.
--
-- A site adds to the plan without copying a script, in /etc/hanfs/site.lua
-- or in the package's hooks file (`hooks_file`), both loaded before every
-- script:
--
--   local plan = require "plan"
--   plan.after("mount", "quota on",
--     function(pkg) run{"quotaon", "-a"} end,
--     function(pkg) run{"quotaoff", "-a"} end)
--   plan.before("addresses", "tell the load balancer", function(pkg) ... end)
--   plan.replace("addresses", "the site's own addresses", start_fn, stop_fn)
--   plan.check("quota", function() return true end)   -- or false, "why"
--
-- A hook is a step like the others: named in the log ("site: quota on"),
-- planned by --dry-run (its commands are listed), and undone when a later
-- step fails (its stop function is its undo). Its functions get the
-- package and the step: {part = "mount", title = "quota on", action =
-- "start" | "stop" | "undo"}.

local steps = require "steps"
local lockmigration = require "lockmigration"

local plan = {}

local function reversed(list)
  local r = {}
  for i = #list, 1, -1 do r[#r + 1] = list[i] end
  return r
end

local function mark(up) return up and "up  " or "down" end

-- One line of `hanfs status`: whether it is up, what it is ("vg vg01"), and
-- what was found (after `sep`, ": " unless given); `line` as status prints it.
local function item(up, what, detail, sep)
  return { up = not not up, what = what, detail = detail,
           line = mark(up) .. " " .. what .. (detail and ((sep or ": ") .. detail) or "") }
end

-- A step that helps but is no condition: its error is logged, as `failed: why`.
local function helping(p, title, fn, failed)
  p:step(title, function()
    local ok, why = pcall(fn)
    if not ok then log.warn(failed .. ": " .. tostring(why)) end
  end)
end

-- A step's work tried again up to `times` more times, 2 s apart, each
-- failure logged (ACTIVATION_RETRY_COUNT, deactivation_retry_count).
local function retrying(times, fn)
  return function()
    for try = 1, times do
      local ok, why = pcall(fn)
      if ok then return end
      log.warn(("%s: trying again in 2 s (%d of %d)"):format(tostring(why), try, times))
      sleep(2)
    end
    fn()
  end
end

-- Whether the clients' connections are kept and prompted (`reconnect_clients`):
-- on the package's storage, for its addresses.
local function reconnecting()
  return pkg.reconnect_clients and #pkg.filesystems > 0 and #pkg.addresses > 0
end

-- The parts, in start order. `here()`: whether this run does the part's own
-- work (under Serviceguard, storage and addresses are the cluster
-- manager's: `parts`); `start(p)` and `stop(p)` add their steps to the
-- running steps plan `p`; `status()` returns its items for `hanfs status` ({up, what, detail, line});
-- `checks()` the monitor's checks, each {name, run}, run() answering true,
-- or false and why; `ahead()`, where a part has one, begins before the
-- first step what may run in the background while the parts before it
-- start, changing nothing (the addresses' duplicate address probes).
plan.parts = {
  {
    name = "volume_groups",
    here = function() return parts.storage end,
    start = function(p)
      -- parts.takeover: the other node is down (the cluster manager fenced it, or
      -- `hanfs start --takeover`): a VG it still holds is taken over.
      for _, vg in ipairs(pkg.volume_groups) do
        p:step("activate volume group " .. vg,
          retrying(pkg.vg_activation_retries, function() vg_activate(vg, { takeover = parts.takeover }) end),
          function() vg_deactivate(vg) end)
      end
    end,
    stop = function(p)
      for _, vg in ipairs(reversed(pkg.volume_groups)) do
        p:step("deactivate volume group " .. vg, retrying(pkg.vg_deactivation_retries, function() vg_deactivate(vg) end))
      end
    end,
    status = function()
      local lines = {}
      for _, name in ipairs(pkg.volume_groups) do
        local vg = vg_status(name)
        if not vg then
          lines[#lines + 1] = item(false, "vg " .. name, "not visible on this node")
        else
          local owner = #vg.tags > 0 and ("tags " .. table.concat(vg.tags, ",")) or "no tags"
          if vg.system_id ~= "" then owner = owner .. ", system ID " .. vg.system_id end
          local active = vg.active_volumes and (", %d/%d LVs active"):format(vg.active_volumes, vg.logical_volumes) or ""
          local ours = pkg.vg_ownership == "tags" and #vg.tags == 1 and vg.tags[1] == node_name()
            or pkg.vg_ownership == "system_id" and vg.system_id ~= "" and vg.system_id == vg.local_system_id
          lines[#lines + 1] = item(ours, "vg " .. name, owner .. active)
        end
      end
      return lines
    end,
    checks = function() return {} end,
  },
  {
    name = "mount",
    here = function() return parts.storage and #pkg.filesystems > 0 end,
    start = function(p)
      p:step("check and mount " .. #pkg.filesystems .. " file system(s)",
        function() mount_all(pkg.filesystems) end,
        function() umount_all(pkg.filesystems) end)
    end,
    stop = function(p)
      p:step("unmount " .. #pkg.filesystems .. " file system(s)", function() umount_all(reversed(pkg.filesystems)) end)
    end,
    status = function()
      local lines, mounted = {}, {}
      for _, m in ipairs(mounts()) do mounted[m.directory] = m end
      for _, fs in ipairs(pkg.filesystems) do
        local m = mounted[fs.directory]
        lines[#lines + 1] = item(m, "fs " .. fs.directory,
          m and ("%s (%s) mounted"):format(m.source, m.type) or (fs.device .. " not mounted"))
      end
      return lines
    end,
    checks = function()
      local list = {}
      for _, fs in ipairs(pkg.filesystems) do
        list[#list + 1] = { name = "mount " .. fs.directory, run = function()
          local ok, why = fs_mounted(fs)
          if ok and pkg.monitor.probe then
            return fs_probe(fs, { timeout = math.min(5, math.max(1, pkg.monitor.interval)) })
          end
          return ok, why
        end }
      end
      return list
    end,
  },
  {
    -- The kernel's exports, one step each, or NFS-Ganesha serving them all.
    name = "nfs_server",
    here = function() return true end,
    start = function(p)
      if pkg.nfs_server == "ganesha" then
        p:step("start NFS-Ganesha with " .. #pkg.exports .. " export(s)",
          function() nfs_server_start() end, function() nfs_server_stop() end)
        return
      end
      -- Where the package runs the kernel server: a fresh one (NFSv4 and lockd in grace)
      -- under its scope, with its client records, before the exports.
      if pkg.kernel.manage then
        p:step("start the kernel NFS server as " .. pkg.kernel.scope,
          function() kernel_server_start() end, function() kernel_server_stop() end)
      end
      for _, e in ipairs(pkg.exports) do
        p:step("export " .. e.directory .. " to " .. e.clients, function() export(e) end, function() unexport(e) end)
      end
    end,
    stop = function(p)
      if pkg.nfs_server == "ganesha" then
        -- It lets go of the file systems only when it has ended.
        p:step("stop NFS-Ganesha", function() nfs_server_stop() end)
        return
      end
      for _, e in ipairs(reversed(pkg.exports)) do
        p:step("unexport " .. e.directory .. " from " .. e.clients, function() unexport(e) end)
      end
      -- The NLM locks clients took through the package's addresses go with them
      -- (a kernel server that stays holds them, and the file systems, otherwise).
      for _, a in ipairs(reversed(pkg.addresses)) do
        p:step("release the NLM locks taken through " .. a.address, function() nfs_unlock_ip(a.address) end)
      end
      if pkg.kernel.manage then
        p:step("stop the kernel NFS server", function() kernel_server_stop() end)
      end
    end,
    status = function()
      if pkg.nfs_server == "ganesha" then
        local up = nfs_server_running()
        return { item(up, "NFS-Ganesha", up and ("serving " .. #pkg.exports .. " export(s)") or "not running", " ") }
      end
      local lines, exported = {}, {}
      if pkg.kernel.manage then
        local k = kernel_server_status()
        local up = k and k.threads > 0
        lines[1] = item(up, "kernel NFS server", not k and "none here (no nfsd file system)"
          or up and ("%d threads, scope %s%s"):format(k.threads, pkg.kernel.scope, k.grace_ended == false and ", in grace" or "")
          or "not running")
      end
      for _, e in ipairs(exports()) do exported[e.clients .. ":" .. e.directory] = e end
      for _, e in ipairs(pkg.exports) do
        local x = exported[e.clients .. ":" .. e.directory]
        lines[#lines + 1] = item(x, "export " .. e.clients .. ":" .. e.directory, x and ("(" .. x.options .. ")"), " ")
      end
      return lines
    end,
    checks = function()
      if #pkg.exports == 0 then return {} end
      if pkg.nfs_server == "ganesha" then
        return { { name = "NFS-Ganesha", run = function()
          if nfs_server_running() then return true end
          return false, "NFS-Ganesha of " .. pkg.name .. " is not running"
        end } }
      end
      local list = {}
      if pkg.kernel.manage then
        list[#list + 1] = { name = "kernel NFS server", run = function()
          local k = kernel_server_status()
          if k and k.threads > 0 then return true end
          return false, "the kernel NFS server is not running (no nfsd threads)"
        end }
      end
      list[#list + 1] = { name = "exports", run = function()
        local here = {}
        for _, e in ipairs(exports()) do here[e.clients .. ":" .. e.directory] = true end
        for _, e in ipairs(pkg.exports) do
          if not here[e.clients .. ":" .. e.directory] then
            return false, e.clients .. ":" .. e.directory .. " is not exported"
          end
        end
        return true
      end }
      return list
    end,
  },
  {
    name = "addresses",
    here = function() return parts.addresses end,
    -- Begun before the first step: the duplicate address probes run while the storage comes up.
    ahead = function()
      for _, a in ipairs(pkg.addresses) do ip_probe(a) end
    end,
    -- The clients' TCP connections to them are kept on the package's storage (each
    -- monitor cycle, and at stop before they go); the node that takes them over prompts
    -- each client to reconnect at once (a tickle ACK) rather than at its next TCP
    -- retransmission, seconds later (`reconnect_clients`). Neither may fail the start or the stop.
    start = function(p)
      for _, a in ipairs(pkg.addresses) do
        p:step("add address " .. a.address, function() ip_add(a) end, function() ip_remove(a) end)
      end
      if reconnecting() then
        helping(p, "prompt the recorded clients to reconnect", connections_prompt, "the clients were not prompted")
      end
    end,
    stop = function(p)
      if reconnecting() then
        helping(p, "record the clients' connections", connections_record, "the clients' connections were not recorded")
      end
      for _, a in ipairs(reversed(pkg.addresses)) do
        p:step("remove address " .. a.address, function() ip_remove(a) end)
      end
    end,
    record = function()
      if reconnecting() then connections_record() end
    end,
    status = function()
      local lines, here = {}, {}
      for _, a in ipairs(addresses()) do here[a.address] = a end
      for _, a in ipairs(pkg.addresses) do
        local x = here[a.address]
        lines[#lines + 1] = item(x, "address " .. a.address, x and ("on " .. x.interface), " ")
      end
      return lines
    end,
    checks = function()
      local list = {}
      for _, a in ipairs(pkg.addresses) do
        list[#list + 1] = { name = "address " .. a.address, run = function()
          if ip_present(a.address, a.interface) then return true end
          return false, a.address .. " is not on " .. (a.interface or "this node")
        end }
      end
      return list
    end,
  },
  {
    -- After the addresses: clients are told to reclaim only once they can reach the service.
    name = "lock_migration",
    here = function() return pkg.lock_migration.enabled end,
    start = function(p) lockmigration.start(p) end,
    -- The sync writes to a package file system: it stops before they are unmounted.
    stop = function(p) lockmigration.stop(p) end,
    status = function()
      local lm = pkg.lock_migration
      local pid, sent = statd_pid(), runtime_read("notified")
      return {
        item(flm_running(lm.holding_dir), "sync into " .. lm.holding_dir),
        item(pid, "rpc.statd", (pid and ("pid " .. pid) or "not running")
          .. (sent and (", clients notified with pid " .. sent) or ", clients not notified from here"), " "),
      }
    end,
    checks = function()
      local list = { { name = "statd", run = lockmigration.check() } }
      if pkg.lock_migration.monitor_sync then table.insert(list, 1, { name = "sync", run = lockmigration.sync_check() }) end
      return list
    end,
  },
  {
    -- Last, now that there is all to watch; first to stop, or it would take what stop does for a failure.
    name = "monitor",
    here = function() return pkg.monitor.run or monitor_running() end,
    start = function(p)
      if pkg.monitor.run then
        p:step("start the monitor", function() monitor_start() end, function() monitor_stop() end)
      end
    end,
    stop = function(p) p:step("stop the monitor", function() monitor_stop() end) end,
    status = function()
      local failed = runtime_read("monitor-failed")
      if monitor_running() then return { item(true, "monitor", "running") } end
      if failed then return { item(false, "monitor", "ended: " .. failed) } end
      if pkg.monitor.run then return { item(false, "monitor", "not running") } end
      return {}
    end,
    checks = function() return {} end,
  },
}

local by_name = {}
for _, part in ipairs(plan.parts) do by_name[part.name] = part end

-- ---- the site's hooks ------------------------------------------------------

local hooks = { before = {}, after = {}, replace = {} }
local site_checks = {}

local function part_names()
  local names = {}
  for _, part in ipairs(plan.parts) do names[#names + 1] = part.name end
  return table.concat(names, ", ")
end

local function hook(position, part, title, start_fn, stop_fn)
  if not by_name[part] then
    error(("plan.%s: no part %q (the parts: %s)"):format(position, tostring(part), part_names()), 3)
  end
  if type(title) ~= "string" or title == "" then
    error(("plan.%s(%q, ...): a title expected"):format(position, part), 3)
  end
  if start_fn ~= nil and type(start_fn) ~= "function" then
    error(("plan.%s(%q, %q, ...): the start function is a %s"):format(position, part, title, type(start_fn)), 3)
  end
  if stop_fn ~= nil and type(stop_fn) ~= "function" then
    error(("plan.%s(%q, %q, ...): the stop function is a %s"):format(position, part, title, type(stop_fn)), 3)
  end
  return { part = part, title = title, start = start_fn, stop = stop_fn }
end

-- A step of the site's after a part: started after it, stopped before it.
function plan.after(part, title, start_fn, stop_fn)
  local list = hooks.after[part] or {}
  list[#list + 1] = hook("after", part, title, start_fn, stop_fn)
  hooks.after[part] = list
end

-- A step of the site's before a part: started before it, stopped after it.
function plan.before(part, title, start_fn, stop_fn)
  local list = hooks.before[part] or {}
  list[#list + 1] = hook("before", part, title, start_fn, stop_fn)
  hooks.before[part] = list
end

-- The site's step in the place of a part's own (once per part).
function plan.replace(part, title, start_fn, stop_fn)
  if hooks.replace[part] then
    error(("plan.replace: part %q is replaced already (by %q)"):format(part, hooks.replace[part].title), 2)
  end
  hooks.replace[part] = hook("replace", part, title, start_fn, stop_fn)
end

-- A check of the site's, run by the monitor with the package's own.
function plan.check(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("plan.check(name, function): a name and a function expected", 2)
  end
  site_checks[#site_checks + 1] = { name = name, run = fn }
end

-- A hook as a step of the steps plan `p`; `fn` is its start or stop function.
local function hook_step(p, h, action, fn, undo)
  local title = "site: " .. h.title
  local function step(what) return { part = h.part, title = h.title, action = what } end
  p:step(title, function() fn(pkg, step(action)) end, undo and function() undo(pkg, step("undo")) end)
end

-- ---- running the plan ------------------------------------------------------

function plan.start()
  local p = steps.new("start " .. pkg.name)
  p:run(function()
    -- What a part begins ahead, in the background, changing nothing (a part the site replaced begins nothing).
    for _, part in ipairs(plan.parts) do
      if part.ahead and not hooks.replace[part.name] and part.here() then part.ahead() end
    end
    for _, part in ipairs(plan.parts) do
      for _, h in ipairs(hooks.before[part.name] or {}) do
        if h.start then hook_step(p, h, "start", h.start, h.stop) end
      end
      local r = hooks.replace[part.name]
      if r then
        if r.start then hook_step(p, r, "start", r.start, r.stop) end
      elseif part.here() then
        part.start(p)
      end
      for _, h in ipairs(hooks.after[part.name] or {}) do
        if h.start then hook_step(p, h, "start", h.start, h.stop) end
      end
    end
  end)
end

-- The exact reverse of start. Ends at the first step that fails: a volume
-- group is never released while its file systems may still be mounted.
function plan.stop()
  local p = steps.new("stop " .. pkg.name)
  p:run(function()
    for _, part in ipairs(reversed(plan.parts)) do
      for _, h in ipairs(reversed(hooks.after[part.name] or {})) do
        if h.stop then hook_step(p, h, "stop", h.stop) end
      end
      local r = hooks.replace[part.name]
      if r then
        if r.stop then hook_step(p, r, "stop", r.stop) end
      elseif part.here() then
        part.stop(p)
      end
      for _, h in ipairs(reversed(hooks.before[part.name] or {})) do
        if h.stop then hook_step(p, h, "stop", h.stop) end
      end
    end
  end)
end

-- Every part's lines for `hanfs status`, in start order.
function plan.status()
  local items = {}
  for _, part in ipairs(plan.parts) do
    if part.name ~= "lock_migration" or part.here() then
      for _, it in ipairs(part.status()) do
        it.part = part.name
        items[#items + 1] = it
      end
    end
  end
  return items
end

-- What the monitor keeps on the package's storage every cycle, for the node
-- that takes over after a crash (each part's `record`). An error is the
-- caller's to log: keeping a record never fails the package.
function plan.record()
  for _, part in ipairs(plan.parts) do
    if part.record and part.here() then part.record() end
  end
end

-- The monitor's checks: the RPC services first, then each part's, then the site's.
function plan.checks()
  -- Each service over its usual transport, over IPv4 and IPv6 as the
  -- package's addresses are, or over the transports given (SUPPORTED_NETIDS).
  local programs = {
    rpcbind = { 100000, 2, "tcp" }, nfs = { 100003, 3, "tcp" }, mountd = { 100005, 3, "udp" },
    nlockmgr = { 100021, 4, "udp" }, status = { 100024, 1, "udp" }, rquotad = { 100011, 1, "udp" },
  }
  local retries = { rpcbind = pkg.monitor.rpcbind_retries, nlockmgr = pkg.monitor.lockd_retries }
  local v4, v6 = #pkg.addresses == 0, false
  for _, a in ipairs(pkg.addresses) do
    if a.address:find(":", 1, true) then v6 = true else v4 = true end
  end
  local list = {}
  for _, service in ipairs(pkg.monitor.services) do
    local p = programs[service]
    local netids = pkg.monitor.netids
    if #netids == 0 then
      netids = {}
      if v4 then netids[#netids + 1] = p[3] end
      if v6 then netids[#netids + 1] = p[3] .. "6" end
    end
    for _, netid in ipairs(netids) do
      list[#list + 1] = {
        name = netid == p[3] and service or (service .. " over " .. netid), retries = retries[service],
        run = function() return rpc_ping{ program = p[1], version = p[2], transport = netid, timeout = 2 } end,
      }
    end
  end
  for _, part in ipairs(plan.parts) do
    if part.name ~= "lock_migration" or part.here() then
      for _, c in ipairs(part.checks()) do list[#list + 1] = c end
    end
  end
  for _, c in ipairs(site_checks) do list[#list + 1] = c end
  return list
end

return plan
