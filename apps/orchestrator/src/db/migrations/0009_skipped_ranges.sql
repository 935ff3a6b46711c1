-- Skipped occurrences are counted, not listed (issue 10, defect 8): a catch-up after a long outage stored one
-- SKIPPED row per missed occurrence (10,000 per plan of an every-second job), and an occurrence skipped while an
-- earlier one still ran stored one more every time. Now one row stands for a run of consecutive occurrences
-- skipped for the same reason: from scheduled_for to last_scheduled_for, occurrence_count of them. Rows written
-- before this migration, and every CREATED or QUEUED row, stand for one occurrence (count 1, no last).
ALTER TABLE occurrences
  ADD COLUMN occurrence_count integer NOT NULL DEFAULT 1,
  ADD COLUMN last_scheduled_for timestamptz,
  ADD CONSTRAINT occurrences_skipped_run CHECK (
    CASE WHEN last_scheduled_for IS NULL THEN occurrence_count = 1
         ELSE status = 'SKIPPED' AND occurrence_count >= 2 AND last_scheduled_for > scheduled_for END
  );
