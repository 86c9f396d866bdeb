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
-- logged (and told to hanfs: undo_failed) and the others still run; returns the titles that failed. If
-- hanfs is being stopped (deadline, Ctrl-C, SIGTERM), it leaves the rest:
-- hanfs itself undoes them once the stop has been handled.
function Plan:undo()
  local failed = {}
  while #self.done > 0 do
    if stopping() then return failed end
    local d = table.remove(self.done)
    set_step("undo: " .. d.title)
    local ok, err = pcall(d.undo)
    if not ok then
      if stopping() then
        table.insert(self.done, d)
        return failed
      end
      log.error("undo of '" .. d.title .. "' failed: " .. tostring(err))
      undo_failed(d.title)
      failed[#failed + 1] = d.title
    end
  end
  set_step(nil)
  return failed
end

-- Runs `body`; if it fails, undoes what was done and raises the error again,
-- saying what could not be undone. While it runs, `steps.current` is the
-- plan, so that hanfs can undo it when the run is stopped from outside.
function Plan:run(body)
  steps.current = self
  local ok, err = pcall(body)
  if ok then
    steps.current = nil
    set_step(nil)
    return
  end
  -- Stopped from outside: nothing more runs here; hanfs calls steps.abandon().
  if stopping() then error(err, 0) end
  log.error(self.name .. " failed: " .. tostring(err))
  local failed = self:undo()
  steps.current = nil
  if #failed > 0 then
    err = tostring(err) .. " (and the undo of " .. table.concat(failed, ", ") .. " failed: see the log)"
  end
  error(err, 0)
end

-- Undoes what the plan that was running had done. hanfs calls it, with a
-- fresh time limit, after a start was stopped by its deadline or a signal.
function steps.abandon()
  local plan = steps.current
  steps.current = nil
  if not plan or #plan.done == 0 then return end
  log.warn(plan.name .. " was stopped: undoing the " .. #plan.done .. " step(s) it had done")
  local failed = plan:undo()
  if #failed > 0 then
    error("the undo of " .. table.concat(failed, ", ") .. " failed: see the log", 0)
  end
end

return steps
