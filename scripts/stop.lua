-- stop: take the package down on this node, the exact reverse of start.
--
--   hanfs stop --config /etc/hanfs/nfspkg.conf
--
-- Addresses first (clients stop coming), then exports, then file systems
-- (processes that hold them are stopped: TERM, then KILL), then volume
-- groups. Each step is a no-op when its part is already down. Stop ends at
-- the first step that fails: a volume group is never released while its
-- file systems may still be mounted.

local steps = require "steps"
local lockmigration = require "lockmigration"
local stop = steps.new("stop " .. pkg.name)

local function reversed(list)
  local r = {}
  for i = #list, 1, -1 do r[#r + 1] = list[i] end
  return r
end

stop:run(function()
  -- The monitor would take what stop does for a failure.
  if pkg.monitor.run or monitor_running() then
    stop:step("stop the monitor", function() monitor_stop() end)
  end

  -- The sync writes to a package file system: it goes first.
  if pkg.lock_migration.enabled then
    lockmigration.stop(stop)
  end

  -- Under Serviceguard, addresses and storage are its own (see start.lua).
  for _, a in ipairs(parts.addresses and reversed(pkg.addresses) or {}) do
    stop:step("remove address " .. a.address, function() ip_remove(a) end)
  end

  if pkg.nfs_server == "ganesha" then
    -- It lets go of the file systems only when it has ended.
    stop:step("stop NFS-Ganesha", function() nfs_server_stop() end)
  else
    for _, e in ipairs(reversed(pkg.exports)) do
      stop:step("unexport " .. e.directory .. " from " .. e.clients, function() unexport(e) end)
    end
  end

  if parts.storage and #pkg.filesystems > 0 then
    stop:step("unmount " .. #pkg.filesystems .. " file system(s)",
      function() umount_all(reversed(pkg.filesystems)) end)
  end

  for _, vg in ipairs(parts.storage and reversed(pkg.volume_groups) or {}) do
    stop:step("deactivate volume group " .. vg, function() vg_deactivate(vg) end)
  end
end)
