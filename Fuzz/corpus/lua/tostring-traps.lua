local m = {__tostring = function() error(setmetatable({}, {__tostring = function() return ("z"):rep(N) end})) end}
print(setmetatable({}, m))
log.info(setmetatable({}, {__tostring = function() return 42 end}))
