#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c stage=dev|prod` builds every om-platform stack of that stage."""

import aws_cdk as cdk

from infra.stacks.app_builder import build

app = cdk.App()
build(app)
app.synth()
