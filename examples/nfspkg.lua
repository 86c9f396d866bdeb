-- An NFS package in hanfs's native format: hanfs.conf(5), `hanfs validate --config FILE`.
-- Two file systems on one volume group, exported with fixed fsids, one
-- address, NFSv3 lock migration, the kernel's NFS server run by the package.
package {
  name = "nfspkg",
  vg_ownership = "tags",                      -- or "system_id"
  lock_migration = { enabled = true, holding_dir = "/srv/nfs/a/.sm" },
  kernel = { manage = true, grace_time = 90, lease_time = 90, nlm_grace_time = 30 },
  monitor = { interval = 10, retries = 4 },
}
vg "vg01"
filesystem { device = "/dev/vg01/lv1", directory = "/srv/nfs/a", type = "ext4", options = "noatime" }
filesystem { device = "/dev/vg01/lv2", directory = "/srv/nfs/b", type = "xfs" }
export { directory = "/srv/nfs/a", clients = "192.0.2.0/24", options = "rw,sync,no_subtree_check", fsid = 101 }
export { directory = "/srv/nfs/b", clients = "192.0.2.0/24", options = "ro,no_subtree_check", fsid = 102 }
address { address = "192.0.2.10/24", interface = "eth1" }
