"""The DRS simulator's parts; `orchestration.drs.simulator` is its front door."""

AWS_SERVICES = ("ec2", "iam", "sts")  # the AWS clients the simulator answers besides DRS
