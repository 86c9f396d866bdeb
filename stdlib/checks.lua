-- checks: what the monitor looks at, each a function that answers
-- true, or false and why. Each is quick and bounded: native RPC calls with a
-- timeout, /proc, the export table, getifaddrs; no process is started
-- (but sm-notify, when rpc.statd was restarted and the clients are told again).
-- With monitor.probe, each mounted file system also answers a direct read
-- and a status-file write (fs_probe), within the interval (1 to 5 s).
--
--   for _, c in ipairs(require("checks").all()) do print(c.name, c.run()) end

local checks = {}

local programs = {
  rpcbind = { 100000, 2, "tcp" }, nfs = { 100003, 3, "tcp" }, mountd = { 100005, 3, "udp" },
  nlockmgr = { 100021, 4, "udp" }, status = { 100024, 1, "udp" }, rquotad = { 100011, 1, "udp" },
}

function checks.all()
  local list = {}
  for _, service in ipairs(pkg.monitor.services) do
    local p = programs[service]
    list[#list + 1] = { name = service, run = function()
      return rpc_ping{ program = p[1], version = p[2], transport = p[3], timeout = 2 }
    end }
  end
  for _, fs in ipairs(pkg.filesystems) do
    list[#list + 1] = { name = "mount " .. fs.directory, run = function()
      local ok, why = fs_mounted(fs)
      if ok and pkg.monitor.probe then
        return fs_probe(fs, { timeout = math.min(5, math.max(1, pkg.monitor.interval)) })
      end
      return ok, why
    end }
  end
  if #pkg.exports > 0 and pkg.nfs_server == "ganesha" then
    list[#list + 1] = { name = "NFS-Ganesha", run = function()
      if nfs_server_running() then return true end
      return false, "NFS-Ganesha of " .. pkg.name .. " is not running"
    end }
  elseif #pkg.exports > 0 then
    list[#list + 1] = { name = "exports", run = function()
      local here = {}
      for _, e in ipairs(exports()) do here[e.clients .. ":" .. e.directory] = true end
      for _, e in ipairs(pkg.exports) do
        if not here[e.clients .. ":" .. e.directory] then
          return false, e.clients .. ":" .. e.directory .. " is not exported"
        end
      end
      return true
    end }
  end
  for _, a in ipairs(pkg.addresses) do
    list[#list + 1] = { name = "address " .. a.address, run = function()
      if ip_present(a.address, a.interface) then return true end
      return false, a.address .. " is not on " .. (a.interface or "this node")
    end }
  end
  if pkg.lock_migration.enabled then
    list[#list + 1] = { name = "sync", run = function()
      if flm_running(pkg.lock_migration.holding_dir) then return true end
      return false, "the sync into " .. pkg.lock_migration.holding_dir .. " is not running"
    end }
    list[#list + 1] = { name = "statd", run = require("lockmigration").check() }
  end
  return list
end

return checks
