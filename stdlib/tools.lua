-- tools: the programs hanfs drives, and whether this node has them.
--
--   local tools = require "tools"
--   local r = tools.probe("exportfs")   -- {name, purpose, required, present, version}
--   tools.needed_by(pkg)                -- the names this package needs
--
-- Each is asked for its version (argv only, 10 s at most); a program that
-- cannot be started is absent.

local tools = {}

-- name, argv that prints a version, required on every node?, what it is for
tools.list = {
  { "lvm",          { "lvm", "version" },         true,  "volume groups" },
  { "fsck",         { "fsck", "--version" },      true,  "file system checks" },
  { "mount",        { "mount", "--version" },     true,  "mounting" },
  { "umount",       { "umount", "--version" },    true,  "unmounting" },
  { "exportfs",     { "exportfs", "-h" },         false, "kernel NFS exports" },
  { "rpc.nfsd",     { "rpc.nfsd", "--help" },     false, "the kernel NFS server (kernel.manage)" },
  { "rpc.mountd",   { "rpc.mountd", "--version" }, false, "its mount daemon (kernel.manage)" },
  { "nfsdcld",      { "nfsdcld", "-h" },          false, "its NFSv4 client records (kernel.manage)" },
  { "ip",           { "ip", "-V" },               true,  "package IP addresses" },
  { "arping",       { "arping", "-V" },           false, "ARP checks by hand (hanfs sends its own)" },
  { "rpcbind",      { "rpcbind", "-h" },          true,  "RPC port mapping" },
  { "rpc.statd",    { "rpc.statd", "--version" }, true,  "NFSv3 lock recovery" },
  { "sm-notify",    { "sm-notify", "-h" },        true,  "crash notification" },
  { "ganesha.nfsd", { "ganesha.nfsd", "-v" },     false, "user-space NFS server" },
}

local by_name = {}
for _, t in ipairs(tools.list) do by_name[t[1]] = t end

function tools.probe(name)
  local t = assert(by_name[name], "unknown tool " .. name)
  local argv = { table.unpack(t[2]) }
  -- rpcbind -h and sm-notify -h print their usage and exit 1: an answer, not a warning.
  argv.timeout, argv.check, argv.probe = 10, false, true
  local r = run(argv)
  local result = { name = name, purpose = t[4], required = t[3], present = not r.error }
  if result.present then
    -- The first line that names a version, from stdout or stderr.
    local text = (r.stdout or "") .. "\n" .. (r.stderr or "")
    result.version = (text:match("[^\n]*%d+%.%d+[^\n]*") or "present"):gsub("^%s+", ""):sub(1, 60)
  end
  return result
end

-- What a package needs on the node that runs it, given the parts this run does.
function tools.needed_by(p, parts)
  local names = {}
  if parts.storage then
    if #p.volume_groups > 0 then names[#names + 1] = "lvm" end
    if #p.filesystems > 0 then
      for _, n in ipairs{ "fsck", "mount", "umount" } do names[#names + 1] = n end
    end
  end
  if #p.exports > 0 then names[#names + 1] = p.nfs_server == "ganesha" and "ganesha.nfsd" or "exportfs" end
  if p.nfs_server == "kernel" and p.kernel.manage then
    for _, n in ipairs{ "rpc.nfsd", "rpc.mountd", "nfsdcld" } do names[#names + 1] = n end
  end
  if parts.addresses and #p.addresses > 0 then names[#names + 1] = "ip" end
  if p.lock_migration.enabled then
    for _, n in ipairs{ "rpcbind", "rpc.statd", "sm-notify" } do names[#names + 1] = n end
  end
  return names
end

return tools
