-- lockmigration: NFSv3 lock migration, the NFS toolkit's lock_migration in steps.
--
--   local lockmigration = require "lockmigration"
--   lockmigration.start(plan)   -- after the package addresses are up
--   lockmigration.start(plan, {"nfspkg"})   -- as this name only (hanfs.sh lock_migration:nfspkg)
--   lockmigration.stop(plan)    -- before the file systems are unmounted
--
-- start: restore the SM entries the last node left in the holding directory,
-- take a fresh NSM state number, restart rpc.statd as the package (hanfs as
-- its callout, so each new client reaches the holding directory at once; not
-- under NFS-Ganesha, whose NLM keeps the connection to statd it made at its
-- start; with restart = "lockd", lockd instead), start the sync that keeps
-- the holding directory a copy, and send every
-- client a crash notification as each package address, so that they reclaim
-- their locks here. Clients are told only now, with exports and addresses up.
-- lockmigration.check() is the monitor's check that they were told by the
-- rpc.statd that runs.

local lockmigration = {}

-- `as`: the names to restart statd and notify as; default: every package
-- address (or the package's name when it has none).
local function settings(as)
  local lm = pkg.lock_migration
  if lm.sm_dir == "" then
    error("lock migration: no SM directory found (/var/lib/nfs/statd/sm, /var/lib/nfs/sm): set sm_dir", 0)
  end
  local state = lm.sm_dir:match("^(.*)/[^/]+$")
  local names = {}
  for _, a in ipairs(pkg.addresses) do names[#names + 1] = a.address end
  if #names == 0 then names = { pkg.name } end
  return lm, state, as or names
end

function lockmigration.start(plan, as)
  local lm, state, names = settings(as)
  -- One package's lock migration per node: statd cannot tell whose clients are whose.
  plan:step("take this node's lock migration",
    function() lock_migration_claim() end,
    function() lock_migration_release() end)
  plan:step("stop an earlier sync into " .. lm.holding_dir,
    function() flm_stop{ holding_dir = lm.holding_dir } end)
  plan:step("restore the SM entries from " .. lm.holding_dir,
    function() sm_restore(lm.holding_dir, { sm_dir = lm.sm_dir }) end)
  plan:step("take a fresh NSM state number",
    function() nsm_state_new(state) end)
  if lm.restart == "lockd" then
    -- SLES: statd stays; lockd drops its locks and enters grace; sm-notify notifies.
    plan:step("restart lockd", function() lockd_restart() end)
  elseif pkg.nfs_server == "ganesha" then
    -- NFS-Ganesha, just started, is in its grace period already, and it talks to
    -- rpc.statd over a connection it made at its start: a statd restarted now would
    -- cut its NLM off (no client monitored; a stop that waits on statd). statd stays;
    -- the sync keeps the holding directory and sm-notify notifies as the package.
    log.info("rpc.statd left running: NFS-Ganesha's NLM is connected to it")
  else
    plan:step("restart rpc.statd as " .. names[1],
      function()
        statd_restart{ name = names[1], state_dir = state, holding_dir = lm.holding_dir,
                       timeout = lm.statmon_waittime }
      end,
      -- A start that fails later leaves statd as it found it.
      function() statd_restore{ timeout = lm.statmon_waittime } end)
  end
  plan:step("start the sync into " .. lm.holding_dir,
    function()
      flm_start{ sm_dir = lm.sm_dir, holding_dir = lm.holding_dir, interval = lm.propagate_interval }
      runtime_write("sync-restarts", nil)
    end,
    function() flm_stop{ holding_dir = lm.holding_dir } end)
  plan:step("notify the clients as " .. table.concat(names, ", "),
    function()
      sm_notify{ as = names, state_dir = state, retry_minutes = lm.notify_retry_minutes }
      -- Which rpc.statd the clients were told about: the monitor's check.
      runtime_write("notified", statd_pid())
    end,
    -- A start that fails after this (the monitor) must not go on speaking for the package.
    function()
      sm_notify_stop(state)
      runtime_write("notified", nil)
    end)
end

-- The monitor's check: rpc.statd runs, and is the one that was running when
-- the clients were notified. A statd restarted since (by hand, by its
-- service, after a crash) lost what it monitored: the clients are told again.
function lockmigration.check()
  local lm, state, names = settings()
  return function()
    local pid = statd_pid()
    if not pid then return false, "rpc.statd is not running" end
    local sent = runtime_read("notified")
    if sent ~= tostring(pid) then
      log.warn(("rpc.statd is pid %d, the clients were notified with %s: notifying them again")
        :format(pid, sent and ("pid " .. sent) or "no statd"))
      sm_notify{ as = names, state_dir = state, retry_minutes = lm.notify_retry_minutes }
      runtime_write("notified", pid)
    end
    return true
  end
end

-- The monitor's check of the sync into the holding directory: one that
-- ended is started again up to sync_restarts times (the toolkit's
-- NFS_FLM_RESTART) before the check fails; counted on this node from the
-- package's start, whichever monitor process checks.
function lockmigration.sync_check()
  local lm = settings()
  return function()
    if flm_running(lm.holding_dir) then return true end
    local why = "the sync into " .. lm.holding_dir .. " is not running"
    local restarted = tonumber(runtime_read("sync-restarts") or "0") or 0
    if restarted >= lm.sync_restarts then return false, why end
    restarted = restarted + 1
    runtime_write("sync-restarts", tostring(restarted))
    log.warn(("%s: starting it again (%d of %d)"):format(why, restarted, lm.sync_restarts))
    local ok, failed = pcall(flm_start, { sm_dir = lm.sm_dir, holding_dir = lm.holding_dir, interval = lm.propagate_interval })
    if not ok then return false, why .. ", and did not start again: " .. tostring(failed) end
    return true
  end
end

function lockmigration.stop(plan)
  local lm, state = settings()
  plan:step("stop the sync into " .. lm.holding_dir,
    function() flm_stop{ holding_dir = lm.holding_dir } end)
  -- A retrying sm-notify would go on speaking for a package that has left.
  plan:step("stop notifying for the package", function()
    sm_notify_stop(state)
    runtime_write("notified", nil)
  end)
  plan:step("give this node's lock migration back", function() lock_migration_release() end)
end

return lockmigration
