local t = {} for i = 1, N do t = {t, x = t} end
echo(t)
