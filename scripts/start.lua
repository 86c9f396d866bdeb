-- start: bring the package up on this node.
--
--   hanfs start --config /etc/hanfs/nfspkg.conf
--
-- The order of the NFS toolkit's control script: volume groups, file
-- systems (checked, then mounted), exports, then the package addresses, so
-- that clients reach the service only once it is there; then, with lock
-- migration on, the NFSv3 lock state (stdlib/lockmigration.lua), and the
-- monitor when the package runs its own. If a step fails,
-- the steps done are undone in reverse order (see stdlib/steps.lua).
--
-- A site may copy this file to /etc/hanfs/scripts/start.lua and change it;
-- `pkg` holds the package, and `hanfs repl --config FILE` tries things out.

local steps = require "steps"
local lockmigration = require "lockmigration"
local start = steps.new("start " .. pkg.name)

start:run(function()
  -- Under Serviceguard (`hanfs serviceguard start`), storage and addresses
  -- are the cluster manager's: `parts` says which parts are this script's.
  for _, vg in ipairs(parts.storage and pkg.volume_groups or {}) do
    start:step("activate volume group " .. vg,
      function() vg_activate(vg) end,
      function() vg_deactivate(vg) end)
  end

  if parts.storage and #pkg.filesystems > 0 then
    start:step("check and mount " .. #pkg.filesystems .. " file system(s)",
      function() mount_all(pkg.filesystems) end,
      function() umount_all(pkg.filesystems) end)
  end

  if pkg.nfs_server == "ganesha" then
    -- NFS-Ganesha started for the package, serving all its exports.
    start:step("start NFS-Ganesha with " .. #pkg.exports .. " export(s)",
      function() nfs_server_start() end,
      function() nfs_server_stop() end)
  else
    for _, e in ipairs(pkg.exports) do
      start:step("export " .. e.directory .. " to " .. e.clients,
        function() export(e) end,
        function() unexport(e) end)
    end
  end

  for _, a in ipairs(parts.addresses and pkg.addresses or {}) do
    start:step("add address " .. a.address,
      function() ip_add(a) end,
      function() ip_remove(a) end)
  end

  if pkg.lock_migration.enabled then
    lockmigration.start(start)
  end

  -- Where hanfs, not the cluster manager, runs the monitor (monitor.run):
  -- `hanfs monitor` in the background, now that there is all to watch.
  if pkg.monitor.run then
    start:step("start the monitor", function() monitor_start() end, function() monitor_stop() end)
  end
end)
