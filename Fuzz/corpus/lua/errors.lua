error(setmetatable({}, {__tostring = function() return nil end}))
