-- steps: a control script as a list of steps, each with its undo.
--
--   local steps = require "steps"
--   local start = steps.new("start " .. pkg.name)
--   start:run(function()
--     start:step("activate vg01", function() vg_activate("vg01") end,
--                                 function() vg_deactivate("vg01") end)
--     ...
--   end)
--
-- When a step fails, the steps already done are undone, newest first, and
-- the error is raised again: a failed start leaves the node as it was. A
-- step without an undo is not undone (stop's steps have none). Each step's
-- title goes into the package log with every command it runs.

local steps = {}
local Plan = {}
Plan.__index = Plan

function steps.new(name)
  return setmetatable({ name = name, done = {} }, Plan)
end

-- Runs one step: `action`, then remembers `undo` (a function, or nil).
function Plan:step(title, action, undo)
  set_step(title)
  action()
  if undo then
    self.done[#self.done + 1] = { title = title, undo = undo }
  end
end

-- Undoes the steps done so far, newest first. An undo that fails is
-- logged and the others still run; returns the titles that failed.
function Plan:undo()
  local failed = {}
  for i = #self.done, 1, -1 do
    local d = self.done[i]
    set_step("undo: " .. d.title)
    local ok, err = pcall(d.undo)
    if not ok then
      log.error("undo of '" .. d.title .. "' failed: " .. tostring(err))
      failed[#failed + 1] = d.title
    end
  end
  self.done = {}
  set_step(nil)
  return failed
end

-- Runs `body`; if it fails, undoes what was done and raises the error again,
-- saying what could not be undone.
function Plan:run(body)
  local ok, err = pcall(body)
  set_step(nil)
  if ok then return end
  log.error(self.name .. " failed: " .. tostring(err))
  local failed = self:undo()
  if #failed > 0 then
    err = tostring(err) .. " (and the undo of " .. table.concat(failed, ", ") .. " failed: see the log)"
  end
  error(err, 0)
end

return steps
