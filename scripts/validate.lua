-- validate: can this node run the package? The package file itself was
-- checked when it was loaded (a wrong file never gets here); this looks at
-- the node: the tools the package needs, its volume groups visible, the
-- mount points' parents. It changes nothing.
--
--   hanfs validate --node --config FILE
--   hanfs serviceguard validate --config FILE     (Serviceguard's cmcheckconf)
--   the Pacemaker agent's validate-all
--
-- Fails with one line listing what this node lacks.

local tools = require "tools"
local lacks = {}

for _, name in ipairs(tools.needed_by(pkg, parts)) do
  if not tools.probe(name).present then lacks[#lacks + 1] = name .. " is not installed" end
end
-- The shared storage must be seen from here, whoever activates it (under
-- Serviceguard, Serviceguard does; it is looked at, not touched).
for _, vg in ipairs(pkg.volume_groups) do
  if not vg_status(vg) then lacks[#lacks + 1] = "volume group " .. vg .. " is not visible" end
end
for _, fs in ipairs(pkg.filesystems) do
  -- An LV's device node appears only once its VG is active.
  if not fs.device:match("^/dev/[^/]+/") and not file_exists(fs.device) then
    lacks[#lacks + 1] = "device " .. fs.device .. " is not there"
  end
end

-- An interface the package names must be here (addresses go on it).
if parts.addresses then
  for _, a in ipairs(pkg.addresses) do
    if a.interface and not link_exists(a.interface) then
      lacks[#lacks + 1] = ("interface %s (for %s) is not on this node"):format(a.interface, a.address)
    end
  end
end

-- Kerberos exports under NFS-Ganesha: its GSS needs the node's keytab.
if pkg.nfs_server == "ganesha" then
  for _, e in ipairs(pkg.exports) do
    if e.options:match("sec=[^,]*krb5") and not file_exists("/etc/krb5.keytab") then
      lacks[#lacks + 1] = "/etc/krb5.keytab (NFS-Ganesha serves " .. e.directory .. " with Kerberos)"
      break
    end
  end
end

-- The kernel server the package starts needs its control files and nfsdcld's upcall pipes.
if pkg.nfs_server == "kernel" and pkg.kernel.manage then
  if not kernel_server_status() then
    lacks[#lacks + 1] = "the kernel NFS server: no /proc/fs/nfsd/threads (load nfsd, mount the nfsd file system on /proc/fs/nfsd)"
  end
  if not file_exists("/var/lib/nfs/rpc_pipefs/nfsd") then
    lacks[#lacks + 1] = "rpc_pipefs on /var/lib/nfs/rpc_pipefs (nfsdcld reaches the kernel through it)"
  end
end

if #lacks > 0 then
  error("this node lacks what package " .. pkg.name .. " needs: " .. table.concat(lacks, "; "), 0)
end
print(("node %s can run package %s"):format(node_name(), pkg.name))
