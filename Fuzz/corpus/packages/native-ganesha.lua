local fs = "/srv/g"
package { name = "gpkg", nfs_server = "ganesha",
          ganesha = { grace_period = 20, lease_lifetime = 10, recovery_dir = fs .. "/.ganesha" } }
filesystem { device = "/dev/sdb1", directory = fs, type = "ext4" }
for i = 1, 3 do
  export { directory = fs, clients = "192.0.2." .. i, options = "rw", fsid = 5 }
end
address { address = "192.0.2.30/24" }
