-- checks: what the monitor looks at, each a function that answers
-- true, or false and why. Each is quick and bounded: native RPC calls with a
-- timeout, /proc, the export table, getifaddrs; no process is started
-- (but sm-notify, when rpc.statd was restarted and the clients are told again).
-- With monitor.probe, each mounted file system also answers a direct read
-- and a status-file write (fs_probe), within the interval (1 to 5 s).
--
--   for _, c in ipairs(require("checks").all()) do print(c.name, c.run()) end

local checks = {}

-- Each part's checks (stdlib/plan.lua), and the site's (plan.check).
function checks.all()
  return require("plan").checks()
end

return checks
