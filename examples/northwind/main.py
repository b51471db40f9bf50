"""The Northwind Pay migration, in Python: the same app as main.ts, synthesizing identical templates.

    python examples/northwind/main.py [outdir]
"""
import os
import sys

from aws_cdk import App
from cdk_eks_pod_identity import (
    CrossAccountPlan,
    IrsaInventory,
    MigrationFiles,
    MigrationRolePlan,
    PodIdentityMigration,
    MigrationPlan,
    MigrationAgentOptions,
)

FLEET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet")


def read(name):
    with open(os.path.join(FLEET, name), encoding="utf-8") as f:
        return f.read()


clusters = MigrationFiles.clusters_from_json(read("clusters.json"), "clusters.json")
plan = MigrationFiles.plan_from_json(read("plan.json"), "plan.json")
state = MigrationFiles.state_from_json(read("state.json"), "state.json")
# the IRSA roles as IAM holds them today (see main.ts)
collected_roles = MigrationFiles.collected_roles_from_json(read("roles.json"), "roles.json")

inventory = IrsaInventory()
for cluster in clusters:
    inventory.add_service_accounts_file(cluster.cluster_name, os.path.join(FLEET, "serviceaccounts", f"{cluster.cluster_name}.json"))
    inventory.add_workloads_file(cluster.cluster_name, os.path.join(FLEET, "workloads", f"{cluster.cluster_name}.json"))
    # the managed add-ons (aws eks describe-addon): vpc-cni's aws-node moves through the add-on
    addons = os.path.join(FLEET, "addons", cluster.cluster_name)
    for name in sorted(os.listdir(addons)) if os.path.isdir(addons) else []:
        inventory.add_addons_file(cluster.cluster_name, os.path.join(addons, name))
# which add-on versions support Pod Identity (aws eks describe-addon-configuration)
for name in sorted(os.listdir(os.path.join(FLEET, "addon-configurations"))):
    inventory.add_addon_configuration_file(os.path.join(FLEET, "addon-configurations", name))

# See main.ts: the central firehose-writer role cannot also trust the chain while all 11 clusters
# use it through IRSA (4,201 characters > 4,096), so the chain targets a new role.
TELEMETRY_TARGET = "arn:aws:iam::999988887777:role/firehose-writer-pod-identity"
cross_account = [
    CrossAccountPlan(
        namespace=c.namespace,
        service_account=c.service_account,
        association_role_name=c.association_role_name,
        target_role_arn=TELEMETRY_TARGET if c.service_account == "telemetry-shipper" else c.target_role_arn,
        note=c.note,
    )
    for c in plan.cross_account
]

firehose = plan.roles["firehose-writer"]
roles = dict(plan.roles)
roles["firehose-writer"] = MigrationRolePlan(account=firehose.account, statements=firehose.statements, note=firehose.note,
                                             irsa_audience_condition=False)
roles["firehose-writer-pod-identity"] = MigrationRolePlan(account=firehose.account, statements=firehose.statements,
                                                          note=firehose.note, exists=False)

app = App(outdir=sys.argv[1] if len(sys.argv) > 1 else "cdk.out", analytics_reporting=False)
migration = PodIdentityMigration(
    app, "Northwind",
    clusters=clusters,
    inventory=inventory,
    collected_roles=collected_roles,
    state=state,
    placement_file=os.path.join(FLEET, "placement.json"),
    home_region="us-east-1",
    plan=MigrationPlan(waves=plan.waves, exclude=plan.exclude, roles=roles, consolidate=plan.consolidate, cross_account=cross_account),
    trust_policy_max_length_by_account={"111122223333": 4096, "999988887777": 4096},
    agent=MigrationAgentOptions(configuration_values={"tolerations": [{"operator": "Exists"}]}),
)
assembly = app.synth()
print(migration.describe())
print(f"{len(assembly.stacks)} stacks, templates in {assembly.directory}")
