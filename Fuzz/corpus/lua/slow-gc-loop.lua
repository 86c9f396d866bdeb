setmetatable({}, {__gc = function() for i = 1, N do end end})
collectgarbage()
