"""planeco actions service: COP actions and roadmaps, debate, support measures, aids, follow-up."""
