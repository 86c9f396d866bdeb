-- start: bring the package up on this node.
--
--   hanfs start --config /etc/hanfs/nfspkg.conf
--
-- The package's parts, in the order of the NFS toolkit's control script
-- (stdlib/plan.lua declares them): volume groups, file systems (checked,
-- then mounted), the NFS server or its exports, then the package addresses,
-- so that clients reach the service only once it is there; then, with lock
-- migration on, the NFSv3 lock state, and the monitor when the package runs
-- its own. Under Serviceguard (`hanfs serviceguard start`), storage and
-- addresses are the cluster manager's (`parts`). If a step fails, the steps
-- done are undone in reverse order (stdlib/steps.lua).
--
-- A site adds its own steps with hooks (plan.after, plan.before,
-- plan.replace in /etc/hanfs/site.lua or the package's hooks_file), without
-- copying this file; `hanfs repl --config FILE` tries things out.

require("plan").start()
