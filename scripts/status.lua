-- status: what of the package is up on this node, part by part.
--
--   hanfs status --config /etc/hanfs/nfspkg.conf
--
-- Changes nothing. Exit status 0 whatever it finds; each line says up or down.

local function mark(up) return up and "up  " or "down" end

print(("package %s on %s: %s"):format(pkg.name, node_name(),
  package_started() and "started here" or "not started here"))

for _, name in ipairs(pkg.volume_groups) do
  local vg = vg_status(name)
  if not vg then
    print(("  down vg %s: not visible on this node"):format(name))
  else
    local owner = #vg.tags > 0 and ("tags " .. table.concat(vg.tags, ",")) or "no tags"
    if vg.system_id ~= "" then owner = owner .. ", system ID " .. vg.system_id end
    local active = vg.active_volumes and (", %d/%d LVs active"):format(vg.active_volumes, vg.logical_volumes) or ""
    local ours = pkg.vg_ownership == "tags" and #vg.tags == 1 and vg.tags[1] == node_name()
    print(("  %s vg %s: %s%s"):format(mark(ours), name, owner, active))
  end
end

local mounted = {}
for _, m in ipairs(mounts()) do mounted[m.directory] = m end
for _, fs in ipairs(pkg.filesystems) do
  local m = mounted[fs.directory]
  if m then
    print(("  up   fs %s: %s (%s) mounted"):format(fs.directory, m.source, m.type))
  else
    print(("  down fs %s: %s not mounted"):format(fs.directory, fs.device))
  end
end

if pkg.nfs_server == "ganesha" then
  local up = nfs_server_running()
  print(("  %s NFS-Ganesha%s"):format(mark(up), up and (" serving " .. #pkg.exports .. " export(s)") or " not running"))
else
  local exported = {}
  for _, e in ipairs(exports()) do exported[e.clients .. ":" .. e.directory] = e end
  for _, e in ipairs(pkg.exports) do
    local x = exported[e.clients .. ":" .. e.directory]
    print(("  %s export %s:%s%s"):format(mark(x), e.clients, e.directory, x and (" (" .. x.options .. ")") or ""))
  end
end

local here = {}
for _, a in ipairs(addresses()) do here[a.address] = a end
for _, a in ipairs(pkg.addresses) do
  local x = here[a.address]
  print(("  %s address %s%s"):format(mark(x), a.address, x and (" on " .. x.interface) or ""))
end

if pkg.lock_migration.enabled then
  local lm = pkg.lock_migration
  print(("  %s sync into %s"):format(mark(flm_running(lm.holding_dir)), lm.holding_dir))
  local pid, sent = statd_pid(), runtime_read("notified")
  print(("  %s rpc.statd%s%s"):format(mark(pid), pid and (" pid " .. pid) or " not running",
    sent and (", clients notified with pid " .. sent) or ", clients not notified from here"))
end

local failed = runtime_read("monitor-failed")
if monitor_running() then
  print("  up   monitor: running")
elseif failed then
  print("  down monitor: ended: " .. failed)
elseif pkg.monitor.run then
  print("  down monitor: not running")
end
if file_exists(pkg.monitor.maintenance_file) then
  print("  maintenance: " .. pkg.monitor.maintenance_file .. " is there, a failed check does not end the monitor")
end
