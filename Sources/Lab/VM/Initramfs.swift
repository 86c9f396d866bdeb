import Foundation
import Primitives

/// The VM lab's initramfs: busybox (Debian's busybox-static, from this
/// machine), the kernel's modules for virtio, 9p and overlayfs, and an init
/// that makes the guest's root out of this machine's: `/` shared read-only
/// over virtio-9p, a tmpfs overlay on it, and a tmpfs root whose top-level
/// directories are bind mounts of the overlay (an overlay on 9p cannot be
/// exported over NFS, and NFSv4's pseudo-root needs `/` to be); /tmp among
/// them, so that a hanfs built in a checkout there runs in the guest too
/// (what the guest writes goes to the overlay's tmpfs, never here). The init
/// then hands PID 1 to the second stage, which mounts what a booted system
/// has and starts hanfs's guest agent (`hanfs lab-agent`, named on the
/// kernel command line as `lab.agent=PATH`).
struct Initramfs {
    let kernel: KernelImage
    static let modules = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_console"]

    func build() throws {
        let fm = FileManager.default
        let work = "\(kernel.directory)/initramfs"
        try? fm.removeItem(atPath: work)
        for d in ["bin", "proc", "sys", "dev", "lower", "upper", "ovl", "newroot", "mods"] {
            try fm.createDirectory(atPath: "\(work)/\(d)", withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/bin/busybox", toPath: "\(work)/bin/busybox")
        // The modules and what they need, in load order, resolved by kmod on this side.
        var order: [String] = []
        for module in Self.modules {
            let deps = try LabSite.run(Command(["modprobe", "-d", kernel.root, "-S", kernel.release, "--show-depends", module], timeout: 60))
                .stdoutText
            for line in deps.split(separator: "\n") where line.hasPrefix("insmod ") {
                let path = String(line.split(separator: " ")[1])
                let name = (path as NSString).lastPathComponent
                if order.contains(name) { continue }
                try fm.copyItem(atPath: path, toPath: "\(work)/mods/\(name)")
                order.append(name)
            }
        }
        try (order.joined(separator: "\n") + "\n").write(toFile: "\(work)/mods/order", atomically: true, encoding: .utf8)
        try init1(modules: "\(kernel.root)/lib/modules/\(kernel.release)").write(toFile: "\(work)/init", atomically: true, encoding: .utf8)
        chmod("\(work)/init", 0o755)
        let files = (fm.enumerator(atPath: work)?.allObjects as? [String] ?? []).sorted()
        let cpio = try LabSite.run(Command(
            ["env", "-C", work, "busybox", "cpio", "-o", "-H", "newc", "-R", "0:0"], timeout: 120,
            input: Array((["."] + files).joined(separator: "\n").utf8) + [10], outputLimit: 1 << 28))
        try Data(cpio.stdout).write(to: URL(fileURLWithPath: kernel.initramfs))
        try fm.removeItem(atPath: work)
        try revision.write(toFile: "\(kernel.directory)/initramfs.made", atomically: true, encoding: .utf8)
    }

    /// What the initramfs is made of, as text: a cached one made otherwise is made again.
    var revision: String {
        Self.modules.joined(separator: " ") + "\n" + init1(modules: "\(kernel.root)/lib/modules/\(kernel.release)")
    }

    /// PID 1 in the initramfs (busybox sh): the guest's root, then the second stage.
    func init1(modules: String) -> String {
        """
        #!/bin/busybox sh
        # hanfs lab VM, stage 1: this machine's / over virtio-9p (read-only), a
        # tmpfs overlay on it, a tmpfs root of bind mounts of the overlay.
        /bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
        /bin/busybox --install -s
        mount -t proc proc /proc
        mount -t sysfs sys /sys
        mount -t devtmpfs dev /dev
        for m in $(cat /mods/order); do insmod /mods/$m || echo "insmod $m failed"; done
        mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower || { echo "lab: 9p failed"; poweroff -f; }
        mount -t tmpfs -o size=2G tmpfs /upper
        mkdir -p /upper/u /upper/w
        mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /ovl || { echo "lab: overlay failed"; poweroff -f; }
        mount -t tmpfs -o size=2G,mode=755 root /newroot
        for e in /ovl/*; do
          n=${e#/ovl/}
          case $n in
            proc|sys|dev|run|srv|mnt|lost+found) mkdir -p /newroot/$n ;;
            *) if [ -L "$e" ]; then cp -a "$e" /newroot/
               elif [ -d "$e" ]; then mkdir /newroot/$n && mount --bind "$e" /newroot/$n
               else cp -a "$e" /newroot/; fi ;;
          esac
        done
        # This machine has no modules for the guest's kernel: the unpacked package's.
        mkdir -p /ovl/usr/lib/modules/$(uname -r)
        mount --bind /lower\(modules) /newroot/usr/lib/modules/$(uname -r)
        AGENT=
        for a in $(cat /proc/cmdline); do case $a in lab.agent=*) AGENT=${a#lab.agent=};; esac; done
        cat > /newroot/.lab-stage2 <<EOF
        mount -t proc proc /proc
        mount -t sysfs sys /sys
        mkdir -p /dev/pts /dev/shm
        mount -t devpts devpts /dev/pts
        mount -t tmpfs tmpfs /dev/shm
        mount -t tmpfs tmpfs /run
        mkdir -p /run/lock /run/netns
        mount -t tmpfs tmpfs /var/tmp
        mount -t tmpfs tmpfs /var/lib/nfs
        mkdir -p /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/v4recovery
        : > /var/lib/nfs/etab
        hostname lab
        ip link set lo up
        $AGENT lab-agent > /dev/console 2>&1 &
        while :; do wait; sleep 1; done
        EOF
        umount /proc /sys
        mount --move /dev /newroot/dev
        exec switch_root /newroot /bin/busybox sh /.lab-stage2

        """
    }
}
