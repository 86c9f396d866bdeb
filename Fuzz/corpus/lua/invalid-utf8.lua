echo("\xff\xfe", {["\xc3\x28"] = "\xe2\x82"})
mount{device = "/dev/sdb1", directory = "/srv/caf\xc3\xa9", type = "ext4"}
