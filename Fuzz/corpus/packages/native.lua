package { name = "nfspkg", mount_concurrency = 4, fsck_concurrency = 2, run_fsck = "auto",
          lock_migration = { enabled = true, holding_dir = "/srv/nfs/a/.flm", propagate_interval = 2 },
          monitor = { run = true, probe = true, interval = 5, retries = 2, services = "rpcbind,nfs" },
          timeouts = { mount = 30, vg = 20 } }
vg "vgnfs"
filesystem { device = "/dev/vgnfs/lv1", directory = "/srv/nfs/a", type = "ext4", options = "noatime" }
filesystem { device = "/dev/vgnfs/lv2", directory = "/srv/nfs/a/sub", type = "xfs", fsck_options = "-y" }
export { directory = "/srv/nfs/a", clients = "*", options = "rw,sync", fsid = 101 }
export { directory = "/srv/nfs/a/sub", clients = "192.0.2.0/24", options = "ro", fsid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" }
address { address = "192.0.2.10/24", interface = "eth1" }
address { address = "2001:db8::10", subnet = "2001:db8::/64" }
