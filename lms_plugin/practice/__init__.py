"""Practice in prisons: units, mentors and placements; the cadet's logbook; sign-off requests and
sign-offs; observations and reviews; countersignature, the review panel and corrections; the
hash chain over every signed record; and who may see or sign for whom."""
