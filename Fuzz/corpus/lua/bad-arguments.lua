run{"printf", "%s\n", "a\0b", timeout = N}
mount{device = "/dev/x\0", directory = "/srv/\255", type = {}}
export{directory = "/srv", clients = 1, options = {{{}}}, fsid = 0/0}
ip_add{address = "192.0.2." .. N, interface = string.rep("e", N)}
