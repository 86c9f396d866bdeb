-- lock_migration: move the NFSv3 lock state of the package to this node.
--
--   hanfs lock-migration --config /etc/hanfs/nfspkg.conf
--
-- What start does last when lock migration is on (stdlib/lockmigration.lua),
-- by itself: the package's file systems and addresses must be up.

local steps = require "steps"
local lockmigration = require "lockmigration"

if not pkg.lock_migration.enabled then
  print("lock migration is off for " .. pkg.name)
  return
end

-- An argument names what statd restarts and notifies as (the toolkit's
-- `hanfs.sh lock_migration:<name or IP>`); default: each package address.
local as = ...
local plan = steps.new("lock migration " .. pkg.name)
plan:run(function() lockmigration.start(plan, as and { as } or nil) end)
