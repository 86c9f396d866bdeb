-- doctor: is this node ready to run an HA NFS package?
--
--   hanfs run doctor
--
-- Looks for every tool hanfs drives (stdlib/tools.lua), asks each for its
-- version, and says what is missing. It changes nothing. Exit status 1 when
-- a required tool is missing.

local tools = require "tools"
local missing = 0
local width = 0
for _, t in ipairs(tools.list) do width = math.max(width, #t[1]) end

for _, t in ipairs(tools.list) do
  local r = tools.probe(t[1])
  local line = r.version or (r.required and "MISSING" or "absent (optional)")
  if not r.present and r.required then missing = missing + 1 end
  print(string.format("%-" .. width .. "s  %-22s %s", r.name, r.purpose, line))
end

-- The kernel NFS server (nfs_server = "kernel"): its control files, and whether it runs.
local k = kernel_server_status()
print(string.format("%-" .. width .. "s  %-22s %s", "nfsd", "the kernel NFS server",
  not k and "absent: no /proc/fs/nfsd (nfs_server = \"kernel\" needs nfsd loaded and its file system mounted)"
  or k.threads > 0 and (k.threads .. " threads running") or "present, not running (kernel.manage starts it)"))

if missing > 0 then
  error(string.format("%d required tool%s missing", missing, missing == 1 and " is" or "s are"), 0)
end
print("ready: every required tool is here")
