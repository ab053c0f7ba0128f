"""Who was who when: holders of IPs (and, as correlation lands, pods, containers and DNS names)
with validity intervals, resolved as of an event's time."""
