-- pretty: values as readable Lua-like text, for the REPL and for logs.
--
--   local pretty = require "pretty"
--   log.info("package: " .. pretty.format(pkg))
--   pretty.format({1, 2, name = "a"})   --> { 1, 2, name = "a" }
--
-- Tables print with their sequence first, then the other keys sorted; nested
-- tables are indented once they no longer fit on one line; a table met again
-- inside itself prints as <cycle>, and one deeper than `depth` as { ... }.

local pretty = {}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

local function scalar(v)
  local t = type(v)
  if t == "string" then
    return string.format("%q", v):gsub("\\\n", "\\n")
  elseif t == "number" or t == "boolean" or t == "nil" then
    return tostring(v)
  end
  return nil
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function format(v, indent, depth, seen, width)
  local s = scalar(v)
  if s then return s end
  if type(v) ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth <= 0 then return "{ ... }" end
  seen[v] = true

  local parts = {}
  local n = #v
  for i = 1, n do
    parts[#parts + 1] = format(rawget(v, i), indent .. "  ", depth - 1, seen, width)
  end
  local keys = {}
  for k in next, v do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_order)
  for _, k in ipairs(keys) do
    local name = is_identifier(k) and k or ("[" .. (scalar(k) or tostring(k)) .. "]")
    parts[#parts + 1] = name .. " = " .. format(rawget(v, k), indent .. "  ", depth - 1, seen, width)
  end
  seen[v] = nil

  if #parts == 0 then return "{}" end
  local flat = "{ " .. table.concat(parts, ", ") .. " }"
  if #flat + #indent <= width and not flat:find("\n", 1, true) then return flat end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

--- The value as text. options: depth (default 8), width (default 80).
function pretty.format(v, options)
  options = options or {}
  return format(v, "", options.depth or 8, {}, options.width or 80)
end

return pretty
