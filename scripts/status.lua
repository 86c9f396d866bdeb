-- status: what of the package is up on this node, part by part.
--
--   hanfs status --config /etc/hanfs/nfspkg.conf
--
-- Changes nothing. Exit status 0 whatever it finds; each line says up or down.

print(("package %s on %s: %s"):format(pkg.name, node_name(),
  package_started() and "started here" or "not started here"))

for _, line in ipairs(require("plan").status()) do print("  " .. line) end
if pkg.monitor.maintenance_file and file_exists(pkg.monitor.maintenance_file) then
  print("  maintenance: " .. pkg.monitor.maintenance_file .. " is there, a failed check does not end the monitor")
end
