local t = {} for i = 1, N % 100000 do t[i] = i end
echo(table.unpack(t, 1, math.min(#t, 7000)))
