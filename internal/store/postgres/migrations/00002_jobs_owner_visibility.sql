-- +goose Up
-- Someone else's job list shows only their public jobs, newest first. With
-- this index that page is one backward range scan, however few of the
-- owner's jobs are public; with jobs_owner alone the server read every job
-- of the owner and sorted the public ones.
CREATE INDEX jobs_owner_visibility ON jobs(owner_id, visibility, id);

-- How often each owner's jobs have each visibility. Without it the planner
-- multiplies the two columns' frequencies as if they were independent,
-- overestimates the public jobs of an owner who has many jobs but few
-- public ones, and walks the whole table backwards to find them.
CREATE STATISTICS jobs_owner_visibility_mcv (mcv) ON owner_id, visibility FROM jobs;

-- +goose Down
DROP STATISTICS jobs_owner_visibility_mcv;
DROP INDEX jobs_owner_visibility;
