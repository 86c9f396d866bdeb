-- doctor: is this node ready to run an HA NFS package?
--
--   hanfs run doctor
--
-- Looks for every tool hanfs drives (stdlib/tools.lua), asks each for its
-- version, and says what is missing; then lists the site's copies of
-- shipped scripts and modules, saying which the shipped version has moved
-- past since (an upgrade leaves a site's copies as they were). It changes
-- nothing. Exit status 1 when a required tool is missing.

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

-- The site's copies of shipped files (hanfs customize NAME makes them).
for _, c in ipairs(site_copies()) do
  local say = {
    current = "up to date with the shipped one (copied from hanfs " .. (c.version or "?") .. ")",
    behind = "BEHIND: copied from hanfs " .. (c.version or "?") .. ", the shipped one has changed since: compare it with " .. c.shipped,
    unrecorded = "replaces the shipped one, copied from which version is not recorded: compare it with " .. c.shipped,
  }
  print(string.format("%-" .. width .. "s  %-22s %s", "site", c.file, say[c.state]))
end

if missing > 0 then
  error(string.format("%d required tool%s missing", missing, missing == 1 and " is" or "s are"), 0)
end
print("ready: every required tool is here")
