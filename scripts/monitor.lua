-- monitor: watch the package until a check fails for good, then end with
-- one line naming what failed (a non-zero exit: the cluster manager fails
-- the package over). The toolkit's nfs.mon.
--
--   hanfs monitor --config /etc/hanfs/nfspkg.conf
--
-- Every monitor.interval seconds each check of stdlib/checks.lua runs; a
-- check must fail monitor.retries + 1 times in a row to count. While the
-- maintenance file exists, a failure is logged but does not end the monitor.
-- A change of state (healthy, degraded, failed) is logged once.

local checks = require "checks"
local m = pkg.monitor
local list = checks.all()
local misses = {}
local state, maintenance = nil, false

set_step("monitor")
log.info(("monitoring %d checks every %s s, %d retries; maintenance file %s")
  :format(#list, m.interval, m.retries, m.maintenance_file))

while true do
  local paused = file_exists(m.maintenance_file)
  if paused ~= maintenance then
    maintenance = paused
    log.warn(paused and ("maintenance: " .. m.maintenance_file .. " is there, failures do not end the monitor")
                     or "maintenance over: failures end the monitor again")
  end
  local now, failed, degraded = "healthy", {}, {}
  for _, c in ipairs(list) do
    local ok, why = c.run()
    if ok then
      misses[c.name] = 0
    else
      misses[c.name] = (misses[c.name] or 0) + 1
      local line = ("%s: %s (%d of %d)"):format(c.name, why, misses[c.name], m.retries + 1)
      log.warn(line)
      if misses[c.name] > m.retries then failed[#failed + 1] = c.name .. ": " .. why
      else degraded[#degraded + 1] = line end
    end
  end
  if #failed > 0 then now = "failed" elseif #degraded > 0 then now = "degraded" end
  if now ~= state then
    log.info("state: " .. now .. (#failed + #degraded > 0 and (" (" .. table.concat(#failed > 0 and failed or degraded, "; ") .. ")") or ""))
    state = now
  end
  if now == "failed" and not maintenance then
    error("monitor: " .. table.concat(failed, "; "), 0)
  end
  sleep(m.interval)
end
