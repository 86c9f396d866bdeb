-- status: what of the package is up on this node, part by part.
--
--   hanfs status --config /etc/hanfs/nfspkg.conf                (lines for a person)
--   hanfs status --config /etc/hanfs/nfspkg.conf --json         (schema hanfs.status/1)
--   hanfs status --config /etc/hanfs/nfspkg.conf --prometheus   (text exposition format)
--
-- Changes nothing. Exit status 0 whatever it finds; each line says up or
-- down. The JSON and the metrics say the same from one reading (`state()`
-- below): each part's items, the monitor's last cycle, lock migration, the
-- last start and stop on this node, and how many there were since boot.
-- In the JSON a key that has nothing to say is left out (no last stop: no
-- last_stop); README.md documents the schema.

local plan = require "plan"
local format = ...

-- The last start or stop on this node: {result, at, seconds}, or nil.
local function last(action)
  local note = runtime_read("last-" .. action)
  local result, at, seconds = (note or ""):match("^(%S+) (%S+) (%S+)$")
  if not result then return nil end
  return { result = result, at = tonumber(at), seconds = tonumber(seconds) }
end

local function count(key) return tonumber(runtime_read("count-" .. key) or "0") or 0 end

-- The monitor's last cycle (scripts/monitor.lua keeps it): {at, checks = {{name, ok, seconds, why}}}.
local function monitor_cycle()
  local note = runtime_read("monitor-cycle")
  if not note then return nil end
  local lines = {}
  for line in note:gmatch("[^\n]+") do lines[#lines + 1] = line end
  local cycle = { at = tonumber(lines[1]), checks = {} }
  for i = 2, #lines do
    local name, result, seconds, why = lines[i]:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    if name then
      cycle.checks[#cycle.checks + 1] = { name = name, ok = result == "ok", seconds = tonumber(seconds),
                                          why = why ~= "" and why or nil }
    end
  end
  return cycle
end

-- Everything status says, read once.
local function state()
  local items = plan.status()
  local started = package_started()
  local up = started and true or false
  local parts = {}
  for _, it in ipairs(items) do
    parts[#parts + 1] = { part = it.part, item = it.what, up = it.up, detail = it.detail }
    up = up and it.up
  end
  local maintenance = pkg.monitor.maintenance_file
  local s = {
    schema = "hanfs.status/1", package = pkg.name, node = node_name(), time = now(),
    started = started and true or false, started_by = started or nil, up = up, items = parts,
    monitor = { running = monitor_running(), failed = runtime_read("monitor-failed"), last_cycle = monitor_cycle(),
                maintenance_file = maintenance, in_maintenance = maintenance ~= nil and file_exists(maintenance) },
    last_start = last("start"), last_stop = last("stop"),
    counts = { start_done = count("start-done"), start_failed = count("start-failed"), stop_done = count("stop-done"),
               stop_failed = count("stop-failed"), takeover = count("takeover") },
  }
  local lm = pkg.lock_migration
  if lm.enabled then
    local pid, sent = statd_pid(), runtime_read("notified")
    local lag, why = flm_lag{ holding_dir = lm.holding_dir, sm_dir = lm.sm_dir }
    s.lock_migration = {
      holding_dir = lm.holding_dir, sync_running = flm_running(lm.holding_dir),
      sync_lag = lag, sync_lag_error = why, statd_pid = pid,
      notified_by_pid = sent and tonumber(sent), notified_by_running_statd = pid ~= nil and sent == tostring(pid),
    }
  end
  return s
end

-- The text exposition format (Prometheus, node_exporter's textfile collector).
local function prometheus(s)
  local out = {}
  local function escape(v) return (tostring(v):gsub("\\", "\\\\"):gsub("\n", "\\n"):gsub('"', '\\"')) end
  local function labels(l)
    local keys, parts = {}, {}
    for k in pairs(l) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = ('%s="%s"'):format(k, escape(l[k])) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  local declared = {}
  local function metric(name, kind, help, value, l)
    if not declared[name] then
      out[#out + 1] = ("# HELP %s %s"):format(name, help)
      out[#out + 1] = ("# TYPE %s %s"):format(name, kind)
      declared[name] = true
    end
    l = l or {}
    l.package = pkg.name
    local v = type(value) == "boolean" and (value and 1 or 0) or value
    out[#out + 1] = name .. labels(l) .. " " .. (math.type(v) == "integer" and tostring(v) or ("%.17g"):format(v))
  end
  metric("hanfs_package_up", "gauge", "1 when the package is started here and every part of it is up.", s.up)
  metric("hanfs_package_started", "gauge", "1 when the package is marked started on this node.", s.started)
  for _, it in ipairs(s.items) do
    metric("hanfs_part_up", "gauge", "Each part of the package on this node: 1 up, 0 down.", it.up, { part = it.part, item = it.item })
  end
  metric("hanfs_monitor_running", "gauge", "1 when the package's monitor runs here.", s.monitor.running)
  metric("hanfs_monitor_maintenance", "gauge", "1 while the maintenance file pauses the monitor.", s.monitor.in_maintenance)
  local cycle = s.monitor.last_cycle
  if cycle then
    metric("hanfs_monitor_last_cycle_timestamp_seconds", "gauge", "When the monitor's last cycle ran.", cycle.at)
    for _, c in ipairs(cycle.checks) do
      metric("hanfs_check_up", "gauge", "Each check of the monitor's last cycle: 1 passed, 0 failed.", c.ok, { check = c.name })
    end
    for _, c in ipairs(cycle.checks) do
      metric("hanfs_check_duration_seconds", "gauge", "How long each check of the last cycle took.", c.seconds, { check = c.name })
    end
  end
  for _, action in ipairs{ "start", "stop" } do
    local l = s["last_" .. action]
    if l then
      metric("hanfs_last_action_success", "gauge", "The last start or stop on this node: 1 done, 0 failed.", l.result == "done", { action = action })
      metric("hanfs_last_action_duration_seconds", "gauge", "How long the last start or stop on this node took.", l.seconds, { action = action })
      metric("hanfs_last_action_timestamp_seconds", "gauge", "When the last start or stop on this node ended.", l.at, { action = action })
    end
  end
  for _, action in ipairs{ "start", "stop" } do
    for _, result in ipairs{ "done", "failed" } do
      metric("hanfs_actions_total", "counter", "Starts and stops on this node since it booted, by result.",
        s.counts[action .. "_" .. result], { action = action, result = result })
    end
  end
  metric("hanfs_takeovers_total", "counter", "Starts on this node that took the package over from a node that failed.", s.counts.takeover)
  local lm = s.lock_migration
  if lm then
    metric("hanfs_lock_migration_sync_running", "gauge", "1 when the sync into the holding directory runs.", lm.sync_running)
    if lm.sync_lag then
      metric("hanfs_lock_migration_sync_lag_seconds", "gauge", "Seconds since the oldest SM entry not yet in the holding directory was written.", lm.sync_lag.seconds)
      metric("hanfs_lock_migration_unsynced_entries", "gauge", "SM entries not yet the same in the holding directory.", lm.sync_lag.unsynced)
    end
    metric("hanfs_lock_migration_notified_by_running_statd", "gauge", "1 when the running rpc.statd is the one that notified the clients.", lm.notified_by_running_statd)
  end
  return table.concat(out, "\n") .. "\n"
end

if format == "json" then
  print(json(state()))
  return
end
if format == "prometheus" then
  print((prometheus(state()):gsub("\n$", "")))
  return
end

print(("package %s on %s: %s"):format(pkg.name, node_name(),
  package_started() and "started here" or "not started here"))

for _, it in ipairs(plan.status()) do print("  " .. it.line) end
if pkg.monitor.maintenance_file and file_exists(pkg.monitor.maintenance_file) then
  print("  maintenance: " .. pkg.monitor.maintenance_file .. " is there, a failed check does not end the monitor")
end
