-- monitor: watch the package until a check fails for good, then end with
-- one line naming what failed (a non-zero exit: the cluster manager fails
-- the package over). The toolkit's nfs.mon.
--
--   hanfs monitor --config /etc/hanfs/nfspkg.conf
--
-- Every monitor.interval seconds each check of stdlib/checks.lua runs; a
-- check must fail monitor.retries + 1 times in a row to count (its own
-- `retries` where it has one: rpcbind's and lockd's). Each cycle's
-- results go to the package log in one line; a change of state (healthy,
-- degraded, failed) is logged once, as is the maintenance file appearing
-- and going. While the maintenance file exists, a failure is logged but
-- does not end the monitor. Why the monitor ended is kept on this node
-- (runtime_read("monitor-failed")) until it runs again.
--
-- With the argument "once" (the Pacemaker agent's monitor action), one
-- cycle: the result "not running" when the package is not started here and
-- nothing of it is up; an error when a check still fails after
-- monitor.retries more tries a second apart (one lost answer must not fail
-- the package over; the agent's timeout bounds them), when the package is
-- partly up without having been started, or when the monitor that start ran
-- has ended.

local checks = require "checks"
local plan = require "plan"
local m = pkg.monitor
local list = checks.all()

-- What the node that takes over after a crash needs from this one (the
-- clients' connections), kept each cycle; a failure is logged when it
-- starts or changes, never fails the package.
local kept_why
local function keep_records()
  local ok, why = pcall(plan.record)
  why = not ok and tostring(why) or nil
  if why and why ~= kept_why then log.warn("records for a takeover not kept: " .. why) end
  kept_why = why
end

-- One cycle: every check once. Returns the log line, and the failures as
-- {name, why}.
-- Each cycle is also kept on this node for `hanfs status` (its JSON and
-- metrics): the note monitor-cycle, its time, then a line per check:
-- name, ok or failed, seconds it took, why.
local function cycle()
  local results, failures, kept = {}, {}, { tostring(now()) }
  for _, c in ipairs(list) do
    local began = now()
    local ok, why = c.run()
    results[#results + 1] = ok and (c.name .. " ok") or (c.name .. ": " .. why)
    kept[#kept + 1] = table.concat({ c.name, ok and "ok" or "failed", ("%.6f"):format(now() - began),
      ok and "" or (tostring(why):gsub("[\t\n]", " ")) }, "\t")
    if not ok then failures[#failures + 1] = { name = c.name, why = why, check = c } end
  end
  local written, why = pcall(runtime_write, "monitor-cycle", table.concat(kept, "\n"))
  if not written then log.warn("the monitor's cycle is not kept for hanfs status: " .. tostring(why)) end
  return "checks: " .. table.concat(results, "; "), failures
end

if (...) == "once" then
  if not package_started() then
    local up = {}
    for _, fs in ipairs(pkg.filesystems) do
      if fs_mounted(fs) then up[#up + 1] = fs.directory .. " mounted" end
    end
    for _, a in ipairs(pkg.addresses) do
      if ip_present(a.address) then up[#up + 1] = a.address .. " present" end
    end
    if #up == 0 then
      set_result("not running")
      print("package " .. pkg.name .. " is not running here")
      return
    end
    error("package " .. pkg.name .. " is not started here, yet " .. table.concat(up, ", "), 0)
  end
  if m.run and not monitor_running() then
    error("monitor: " .. (runtime_read("monitor-failed") or "it is not running"), 0)
  end
  local line, failures = cycle()
  log.info(line)
  keep_records()
  -- Only the checks that failed are tried again, a second apart, each as
  -- many times as it may miss (rpcbind and lockd may have their own).
  local try = 0
  while #failures > 0 do
    local again, left = {}, {}
    for _, f in ipairs(failures) do
      if try < (f.check.retries or m.retries) then again[#again + 1] = f else left[#left + 1] = f end
    end
    if #again == 0 then break end
    try = try + 1
    sleep(1)
    local still = 0
    for _, f in ipairs(again) do
      local ok, why = f.check.run()
      if not ok then left[#left + 1] = { name = f.name, why = why, check = f.check }; still = still + 1 end
    end
    log.info(("checks tried again (%d): %d of %d still failing"):format(try, still, #again))
    failures = left
  end
  if #failures > 0 then
    local why = {}
    for _, f in ipairs(failures) do why[#why + 1] = f.name .. ": " .. f.why end
    error("monitor: " .. table.concat(why, "; "), 0)
  end
  set_result("running")
  print("package " .. pkg.name .. " is running here")
  return
end

local misses = {}
local state, maintenance = nil, false

set_step("monitor")
runtime_write("monitor-failed", nil)
log.info(("monitoring %d checks every %s s, %d retries; %s")
  :format(#list, m.interval, m.retries, m.maintenance_file and ("maintenance file " .. m.maintenance_file)
    or "no maintenance mode (MAINTENANCE_FLAG=NO)"))

while true do
  local paused = m.maintenance_file ~= nil and file_exists(m.maintenance_file)
  if paused ~= maintenance then
    maintenance = paused
    log.warn(paused and ("maintenance: " .. m.maintenance_file .. " is there, failures do not end the monitor")
                     or "maintenance over: failures end the monitor again")
  end
  local line, failures = cycle()
  keep_records()
  local failing, failed, degraded = {}, {}, {}
  for _, f in ipairs(failures) do
    failing[f.name] = true
    misses[f.name] = (misses[f.name] or 0) + 1
    local retries = f.check.retries or m.retries
    if misses[f.name] > retries then failed[#failed + 1] = f.name .. ": " .. f.why
    else degraded[#degraded + 1] = ("%s: %s (%d of %d)"):format(f.name, f.why, misses[f.name], retries + 1) end
  end
  for _, c in ipairs(list) do
    if not failing[c.name] then misses[c.name] = 0 end
  end
  log.info(line)
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
