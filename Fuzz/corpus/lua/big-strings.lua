local s = string.rep("x", N) .. string.rep("y", N)
echo(s, #s)
