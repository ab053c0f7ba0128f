-- The time of the newest stored event (NULL when the store is empty).
SELECT epoch_ns(max("time")) AS newest FROM events
