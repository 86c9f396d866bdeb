-- doctor: is this node ready to run an HA NFS package?
--
--   hanfs run doctor
--
-- Looks for every tool hanfs drives, asks each for its version, and says what
-- is missing. It changes nothing. Exit status 1 when a required tool is missing.

local tools = {
  -- name, argv that prints a version, required?, what it is for
  { "lvm",        { "lvm", "version" },            true,  "volume groups" },
  { "fsck",       { "fsck", "--version" },         true,  "file system checks" },
  { "mount",      { "mount", "--version" },        true,  "mounting" },
  { "umount",     { "umount", "--version" },       true,  "unmounting" },
  { "exportfs",   { "exportfs", "-h" },            false, "kernel NFS exports" },
  { "ip",         { "ip", "-V" },                  true,  "package IP addresses" },
  { "arping",     { "arping", "-V" },              false, "ARP checks by hand (hanfs sends its own)" },
  { "rpcbind",    { "rpcbind", "-h" },             true,  "RPC port mapping" },
  { "rpc.statd",  { "rpc.statd", "--version" },    true,  "NFSv3 lock recovery" },
  { "sm-notify",  { "sm-notify", "-h" },           true,  "crash notification" },
  { "ganesha.nfsd", { "ganesha.nfsd", "-v" },      false, "user-space NFS server" },
}

local missing = 0
local width = 0
for _, t in ipairs(tools) do width = math.max(width, #t[1]) end

for _, t in ipairs(tools) do
  local name, argv, required, purpose = t[1], t[2], t[3], t[4]
  argv.timeout = 10
  argv.check = false
  local r = run(argv)
  local line
  if r.error then
    line = required and "MISSING" or "absent (optional)"
    if required then missing = missing + 1 end
  else
    -- The first line that names a version, from stdout or stderr.
    local text = (r.stdout or "") .. "\n" .. (r.stderr or "")
    line = text:match("[^\n]*%d+%.%d+[^\n]*") or "present"
    line = line:gsub("^%s+", ""):sub(1, 60)
  end
  print(string.format("%-" .. width .. "s  %-22s %s", name, purpose, line))
end

if missing > 0 then
  error(string.format("%d required tool%s missing", missing, missing == 1 and " is" or "s are"), 0)
end
print("ready: every required tool is here")
