-- Why a rule set version was applied: the comment its author gave when
-- applying it in the browser or with `intake rules apply --comment`, and, for
-- a roll-back, which version it restores.

ALTER TABLE rule_sets ADD COLUMN comment text NOT NULL DEFAULT '';
