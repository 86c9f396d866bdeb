-- monitor: watch the package until a check fails for good, then end with
-- one line naming what failed (a non-zero exit: the cluster manager fails
-- the package over). The toolkit's nfs.mon.
--
--   hanfs monitor --config /etc/hanfs/nfspkg.conf
--
-- Every monitor.interval seconds each check of stdlib/checks.lua runs; a
-- check must fail monitor.retries + 1 times in a row to count. Each cycle's
-- results go to the package log in one line; a change of state (healthy,
-- degraded, failed) is logged once, as is the maintenance file appearing
-- and going. While the maintenance file exists, a failure is logged but
-- does not end the monitor. Why the monitor ended is kept on this node
-- (runtime_read("monitor-failed")) until it runs again.

local checks = require "checks"
local m = pkg.monitor
local list = checks.all()
local misses = {}
local state, maintenance = nil, false

set_step("monitor")
runtime_write("monitor-failed", nil)
log.info(("monitoring %d checks every %s s, %d retries; maintenance file %s")
  :format(#list, m.interval, m.retries, m.maintenance_file))

while true do
  local paused = file_exists(m.maintenance_file)
  if paused ~= maintenance then
    maintenance = paused
    log.warn(paused and ("maintenance: " .. m.maintenance_file .. " is there, failures do not end the monitor")
                     or "maintenance over: failures end the monitor again")
  end
  local failed, degraded, results = {}, {}, {}
  for _, c in ipairs(list) do
    local ok, why = c.run()
    if ok then
      misses[c.name] = 0
      results[#results + 1] = c.name .. " ok"
    else
      misses[c.name] = (misses[c.name] or 0) + 1
      local line = ("%s: %s (%d of %d)"):format(c.name, why, misses[c.name], m.retries + 1)
      results[#results + 1] = line
      if misses[c.name] > m.retries then failed[#failed + 1] = c.name .. ": " .. why
      else degraded[#degraded + 1] = line end
    end
  end
  log.info("checks: " .. table.concat(results, "; "))
  local now = #failed > 0 and "failed" or #degraded > 0 and "degraded" or "healthy"
  if now ~= state then
    local why = #failed > 0 and failed or degraded
    log[now == "healthy" and "info" or "warn"]("state: " .. now .. (#why > 0 and (" (" .. table.concat(why, "; ") .. ")") or ""))
    state = now
  end
  if now == "failed" and not maintenance then
    local reason = table.concat(failed, "; ")
    runtime_write("monitor-failed", reason)
    error("monitor: " .. reason, 0)
  end
  sleep(m.interval)
end
