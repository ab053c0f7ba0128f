-- 0006: the event tables write their small parts compact (every column in one file) and merge
-- into wide parts column by column. A wide part of a table of ~75 columns has ~160 streams (a
-- Nullable or LowCardinality column has two, an Array two), each with its own compression and
-- write buffers of ~1 MiB: writing one part of 16,384 flows held ~480 MiB, and a merge of six
-- such parts as much again, whatever the rows. A compact part has one stream per codec: the
-- same insert holds a few tens of MiB (1M events into chDB: the engine's tracked memory at most
-- 1.25 GiB before, 0.44 after). A part of 256 MiB or more of data is wide (a question reads only
-- the columns it names), and a merge into one is vertical from 8,192 rows (one column at a time:
-- its streams only), where ClickHouse's default of 131,072 rows left parts of up to ~300 MiB of
-- flows to merge with every stream open at once.
ALTER TABLE api_calls MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
ALTER TABLE processes MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
ALTER TABLE flows MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
ALTER TABLE runtime_alerts MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
ALTER TABLE spans MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
ALTER TABLE objects MODIFY SETTING min_bytes_for_wide_part = 268435456, vertical_merge_algorithm_min_rows_to_activate = 8192;
