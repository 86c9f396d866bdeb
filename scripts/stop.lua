-- stop: take the package down on this node, the exact reverse of start.
--
--   hanfs stop --config /etc/hanfs/nfspkg.conf
--
-- The monitor first (it would take what stop does for a failure), the lock
-- migration sync (it writes to a package file system), addresses (clients
-- stop coming), exports or NFS-Ganesha, then file systems (processes that
-- hold them are stopped: TERM, then KILL), then volume groups; the site's
-- hooks in their places (stdlib/plan.lua). Each step is a no-op when its
-- part is already down. Stop ends at the first step that fails: a volume
-- group is never released while its file systems may still be mounted.

require("plan").stop()
