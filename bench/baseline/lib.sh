# shellcheck shell=bash
# cdk-eks-pod-identity: the functions behind a wave's generated runbook scripts.
#
# Generated into <cloud assembly>/runbooks/lib.sh; do not edit (the next `cdk synth` rewrites it).
# Each script of runbooks/<wave>/<FROM>-to-<TO>/ sources this file and calls
#   pi_main <preflight|apply|verify|rollback> <FROM> <TO> <wave dir> [options]
# The wave dir holds the data the scripts loop over (tab-separated, '#' lines are comments):
#   wave.tsv       wave name, stack pattern
#   phase          the phase the cloud assembly holds for the wave (written by every synth)
#   phases.tsv     what each phase means: phase, irsaTrust, podIdentityTrust, association, annotation
#   clusters.tsv   cluster, region, account, cluster ARN, compute type
#   targets.tsv    one line per service account of the wave (see pi_read_target)
#   workloads.tsv  cluster, namespace, service account, kind, name (from the inventory)
#
# Output: one line per check, "<STATUS> <cluster> <namespace>/<serviceaccount> <check>: <detail>".
#   PASS, FAIL                 a check and its result
#   TODO                       a step only the operator can do (not a failure)
#   CANNOT-CHECK               a prerequisite the script cannot see (F15)
#   INFO, WAIT, DO             progress
# Exit status: 0 when no check failed, 1 when one did, 2 on a usage error.
# Needs bash (3.2 or later), kubectl, the AWS CLI and jq.

PI_FAILS=0
PI_POD_VARS='["AWS_CONTAINER_CREDENTIALS_FULL_URI","AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]'
PI_IRSA_VARS='["AWS_WEB_IDENTITY_TOKEN_FILE","AWS_ROLE_ARN"]'
PI_AGENT_ADDRESSES='["169.254.170.23","[fd00:ec2::23]"]'
PI_ANNOTATION='eks.amazonaws.com/role-arn'

pi_line() { printf '%s\n' "$*"; }
pi_pass() { pi_line "PASS $*"; }
pi_fail() { pi_line "FAIL $*"; PI_FAILS=$((PI_FAILS + 1)); }
pi_todo() { pi_line "TODO $*"; }
pi_info() { pi_line "INFO $*"; }
pi_cannot() { pi_line "CANNOT-CHECK $*"; }
pi_do() { pi_line "DO $*"; }

pi_usage() {
  cat <<EOF
usage: $PI_SCRIPT [options]

  $PI_STEP for wave $PI_WAVE, $PI_FROM -> $PI_TO (see $PI_WAVE.md next to this folder).

options:
  --contexts FILE       kubeconfig context per cluster: lines "<cluster name><TAB><context>"
                        (default: the cluster ARN, the name 'aws eks update-kubeconfig' gives it)
  --profiles FILE       AWS CLI profile per account: lines "<account><TAB><profile>"
                        (default: the current credentials, which must be in the cluster's account)
  --timeout SECONDS     how long to wait for an association, a rollout or a job (default 300)
  --interval SECONDS    time between two polls (default 5)
  --skip-deploy         apply/rollback: the stacks are deployed by a pipeline; do the rest
  --cdk COMMAND         the CDK CLI (default: npx cdk)
  --trigger-cronjobs    apply: run each CronJob once now (kubectl create job --from) and wait
  --sts                 verify: run a throwaway aws-cli pod per service account (sts get-caller-identity)
  --sts-image IMAGE     the image of that pod (default: public.ecr.aws/aws-cli/aws-cli:latest)
  --cloudtrail MINUTES  verify: find AssumeRoleForPodIdentity events of each cluster in the last MINUTES
  -h, --help            this text

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
EOF
}

pi_parse_args() {
  PI_TIMEOUT=300
  PI_INTERVAL=5
  PI_SKIP_DEPLOY=0
  PI_TRIGGER_CRONJOBS=0
  PI_STS=0
  PI_STS_IMAGE='public.ecr.aws/aws-cli/aws-cli:latest'
  PI_CLOUDTRAIL=0
  PI_CONTEXTS=''
  PI_PROFILES=''
  PI_CDK='npx cdk'
  while [ $# -gt 0 ]; do
    case "$1" in
      --contexts|--profiles|--timeout|--interval|--cdk|--sts-image|--cloudtrail)
        if [ $# -lt 2 ]; then
          echo "$PI_SCRIPT: $1 needs a value" >&2
          exit 2
        fi
        case "$1" in
          --contexts) PI_CONTEXTS="$2" ;;
          --profiles) PI_PROFILES="$2" ;;
          --timeout) PI_TIMEOUT="$2" ;;
          --interval) PI_INTERVAL="$2" ;;
          --cdk) PI_CDK="$2" ;;
          --sts-image) PI_STS_IMAGE="$2" ;;
          --cloudtrail) PI_CLOUDTRAIL="$2" ;;
        esac
        shift 2
        ;;
      --skip-deploy) PI_SKIP_DEPLOY=1; shift ;;
      --trigger-cronjobs) PI_TRIGGER_CRONJOBS=1; shift ;;
      --sts) PI_STS=1; shift ;;
      -h|--help) pi_usage; exit 0 ;;
      *)
        echo "$PI_SCRIPT: unknown option $1" >&2
        pi_usage >&2
        exit 2
        ;;
    esac
  done
  local n
  for n in "$PI_TIMEOUT" "$PI_INTERVAL" "$PI_CLOUDTRAIL"; do
    case "$n" in
      ''|*[!0-9]*) echo "$PI_SCRIPT: expected a whole number of seconds or minutes, got '$n'" >&2; exit 2 ;;
    esac
  done
  local f
  for f in "$PI_CONTEXTS" "$PI_PROFILES"; do
    if [ -n "$f" ] && [ ! -r "$f" ]; then
      echo "$PI_SCRIPT: cannot read $f" >&2
      exit 2
    fi
  done
}

# The value of column 2 of the line of FILE whose column 1 is KEY, or nothing.
pi_lookup() {
  awk -F '\t' -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# kubectl on a cluster: pi_k <cluster> <kubectl arguments...>
pi_k() {
  local cluster="$1"
  shift
  local context=''
  if [ -n "$PI_CONTEXTS" ]; then
    context="$(pi_lookup "$PI_CONTEXTS" "$cluster")"
  fi
  if [ -z "$context" ]; then
    context="$(awk -F '\t' -v k="$cluster" '$1 == k { print $4; exit }' "$PI_DIR/clusters.tsv")"
  fi
  kubectl --context "$context" --request-timeout=30s "$@"
}

# the AWS CLI in an account and region: pi_aws <account> <region> <aws arguments...>
pi_aws() {
  local account="$1" region="$2"
  shift 2
  local profile=''
  if [ -n "$PI_PROFILES" ]; then
    profile="$(pi_lookup "$PI_PROFILES" "$account")"
  fi
  if [ -n "$profile" ]; then
    aws --profile "$profile" --region "$region" --output json "$@"
  else
    aws --region "$region" --output json "$@"
  fi
}

pi_sleep() {
  if [ "$PI_INTERVAL" -gt 0 ]; then
    sleep "$PI_INTERVAL"
  fi
}

# the columns of clusters.tsv for a cluster: sets C_REGION C_ACCOUNT C_ARN C_COMPUTE
pi_cluster() {
  local line
  line="$(awk -F '\t' -v k="$1" '$1 == k { print; exit }' "$PI_DIR/clusters.tsv")"
  IFS=$'\t' read -r _ C_REGION C_ACCOUNT C_ARN C_COMPUTE <<<"$line"
}

# whether phase $1 has property $2 (irsaTrust, podIdentityTrust, association, annotation), from phases.tsv
pi_has() {
  local p irsa pod assoc annotation
  while IFS=$'\t' read -r p irsa pod assoc annotation; do
    if [ "$p" = "$1" ]; then
      case "$2" in
        irsaTrust) [ "$irsa" = yes ] ;;
        podIdentityTrust) [ "$pod" = yes ] ;;
        association) [ "$assoc" = yes ] ;;
        annotation) [ "$annotation" = yes ] ;;
      esac
      return
    fi
  done <<<"$PI_PHASES"
  return 1
}

# Loops: each line of targets.tsv (or clusters.tsv) calls "$@" with its columns as variables.
# targets.tsv columns: T_CLUSTER T_NS T_SA T_IRSA_ROLE T_ASSOC_ROLE T_TARGET_ROLE T_IRSA_TRUST(ends|kept)
#   T_OIDC_PROVIDER T_ISSUER T_POD_TRUST(phased|always) T_HELM T_PI_IDENTITY T_IRSA_IDENTITY
#   T_ADDON T_ADDON_VERSION (the managed add-on that owns the service account, or -)
pi_each_target() {
  local line
  while IFS= read -r line <&3; do
    case "$line" in '#'*|'') continue ;; esac
    IFS=$'\t' read -r T_CLUSTER T_NS T_SA T_IRSA_ROLE T_ASSOC_ROLE T_TARGET_ROLE T_IRSA_TRUST \
      T_OIDC_PROVIDER T_ISSUER T_POD_TRUST T_HELM T_PI_IDENTITY T_IRSA_IDENTITY T_ADDON T_ADDON_VERSION <<<"$line"
    pi_cluster "$T_CLUSTER"
    T_WHO="$T_CLUSTER $T_NS/$T_SA"
    "$@"
  done 3<"$PI_DIR/targets.tsv"
}

pi_each_cluster() {
  local line cluster
  while IFS= read -r line <&3; do
    case "$line" in '#'*|'') continue ;; esac
    IFS=$'\t' read -r cluster _ <<<"$line"
    pi_cluster "$cluster"
    C_NAME="$cluster"
    "$@"
  done 3<"$PI_DIR/clusters.tsv"
}

pi_role_name() { printf '%s\n' "${1##*/}"; }

# ---------------------------------------------------------------------------------------------
# Reading the fleet

# the association of the current target: prints its JSON (describe-pod-identity-association), or
# nothing when there is none; returns 1 when the API cannot be read
pi_association() {
  local ids id
  if ! ids="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks list-pod-identity-associations --cluster-name "$T_CLUSTER" \
    --namespace "$T_NS" --service-account "$T_SA" 2>&1)"; then
    pi_fail "$T_WHO association: cannot list the associations: $(printf '%s' "$ids" | tr '\n' ' ')"
    return 1
  fi
  id="$(jq -r '[.associations[]?.associationId] | first // empty' <<<"$ids")"
  if [ -z "$id" ]; then
    return 0
  fi
  if ! pi_aws "$C_ACCOUNT" "$C_REGION" eks describe-pod-identity-association --cluster-name "$T_CLUSTER" \
    --association-id "$id" 2>&1; then
    pi_fail "$T_WHO association: cannot describe association $id"
    return 1
  fi
}

# the pods of the current target that hold credentials (not Succeeded or Failed), as a JSON array
pi_pods() {
  local all
  if ! all="$(pi_k "$T_CLUSTER" -n "$T_NS" get pods -o json 2>&1)"; then
    pi_fail "$T_WHO pods: cannot list the pods of namespace $T_NS: $(printf '%s' "$all" | tr '\n' ' ')"
    return 1
  fi
  jq -c --arg sa "$T_SA" '[.items[] | select((.spec.serviceAccountName // "default") == $sa)
    | select(.status.phase != "Succeeded" and .status.phase != "Failed")]' <<<"$all"
}

# the trust policy of a role (in the role's account; the region does not matter for IAM)
pi_trust() {
  local arn="$1" account
  account="$(cut -d: -f5 <<<"$arn")"
  pi_aws "$account" "$C_REGION" iam get-role --role-name "$(pi_role_name "$arn")" --query Role.AssumeRolePolicyDocument
}

# ---------------------------------------------------------------------------------------------
# Checks of a phase's state, one service account at a time

pi_check_association() {
  local phase="$1" assoc role target
  if ! assoc="$(pi_association)"; then
    return 0
  fi
  if pi_has "$phase" association; then
    if [ -z "$assoc" ]; then
      pi_fail "$T_WHO association: expected one naming $(pi_role_name "$T_ASSOC_ROLE"); saw none"
      return 0
    fi
    role="$(jq -r '.association.roleArn' <<<"$assoc")"
    target="$(jq -r '.association.targetRoleArn // "-"' <<<"$assoc")"
    if [ "$role" = "$T_ASSOC_ROLE" ] && [ "$target" = "$T_TARGET_ROLE" ]; then
      pi_pass "$T_WHO association: role $role, target role $target"
    else
      pi_fail "$T_WHO association: expected role $T_ASSOC_ROLE, target role $T_TARGET_ROLE; saw role $role, target role $target"
    fi
  elif [ -n "$assoc" ]; then
    pi_fail "$T_WHO association: expected none in $phase; saw $(jq -r '.association.associationId' <<<"$assoc") naming $(jq -r '.association.roleArn' <<<"$assoc")"
  else
    pi_pass "$T_WHO association: none, as $phase expects"
  fi
}

pi_check_annotation() {
  local phase="$1" sa value
  if ! sa="$(pi_k "$T_CLUSTER" -n "$T_NS" get serviceaccount "$T_SA" -o json 2>&1)"; then
    pi_fail "$T_WHO annotation: cannot read the ServiceAccount: $(printf '%s' "$sa" | tr '\n' ' ')"
    return 0
  fi
  value="$(jq -r --arg a "$PI_ANNOTATION" '.metadata.annotations[$a] // "-"' <<<"$sa")"
  if pi_has "$phase" annotation; then
    if [ "$value" = "$T_IRSA_ROLE" ]; then
      pi_pass "$T_WHO annotation: $PI_ANNOTATION=$value"
    else
      pi_fail "$T_WHO annotation: expected $PI_ANNOTATION=$T_IRSA_ROLE; saw $value"
    fi
  elif [ "$value" = "-" ]; then
    pi_pass "$T_WHO annotation: $PI_ANNOTATION absent"
  else
    pi_fail "$T_WHO annotation: expected $PI_ANNOTATION absent; saw $value"
  fi
}

# the OIDC statement of the cluster naming this service account, in the IRSA role's trust, and the
# pods.eks statement pinned to it, in the association role's trust
pi_check_trust() {
  local phase="$1" trust n want
  if ! trust="$(pi_trust "$T_IRSA_ROLE" 2>&1)"; then
    pi_fail "$T_WHO trust: cannot read the trust of $T_IRSA_ROLE: $(printf '%s' "$trust" | tr '\n' ' ')"
  else
    n="$(jq --arg p "$T_OIDC_PROVIDER" --arg k "$T_ISSUER:sub" --arg s "system:serviceaccount:$T_NS:$T_SA" '
      [.Statement | if type == "array" then .[] else . end | select(.Effect == "Allow")
       | select([.Principal.Federated] | flatten | index($p))
       | select([.Condition.StringEquals[$k], .Condition.StringLike[$k]] | flatten | index($s))] | length' <<<"$trust")"
    want=no
    if pi_has "$phase" irsaTrust || [ "$T_IRSA_TRUST" = kept ]; then want=yes; fi
    pi_expect_statements "$want" "$n" \
      "$(pi_role_name "$T_IRSA_ROLE") trusts the cluster's OIDC provider for this service account" \
      "expected $(pi_role_name "$T_IRSA_ROLE") to trust $T_OIDC_PROVIDER for system:serviceaccount:$T_NS:$T_SA; saw no such statement" \
      "expected no OIDC statement for this service account in $phase; saw $n in $(pi_role_name "$T_IRSA_ROLE")" \
      "no OIDC statement for this service account in $(pi_role_name "$T_IRSA_ROLE")"
  fi
  if ! trust="$(pi_trust "$T_ASSOC_ROLE" 2>&1)"; then
    pi_fail "$T_WHO trust: cannot read the trust of $T_ASSOC_ROLE: $(printf '%s' "$trust" | tr '\n' ' ')"
    return 0
  fi
  n="$(jq --arg c "$C_ARN" --arg ns "$T_NS" --arg sa "$T_SA" '
    [.Statement | if type == "array" then .[] else . end | select(.Effect == "Allow")
     | select([.Principal.Service] | flatten | index("pods.eks.amazonaws.com"))
     | .Condition.StringEquals // {}
     | select(([.["aws:RequestTag/kubernetes-namespace"]] | flatten | index($ns)) and
              ([.["aws:RequestTag/kubernetes-service-account"]] | flatten | index($sa)) and
              ((has("aws:RequestTag/eks-cluster-arn") | not) or ([.["aws:RequestTag/eks-cluster-arn"]] | flatten | index($c))))] | length' <<<"$trust")"
  want=no
  if pi_has "$phase" podIdentityTrust || [ "$T_POD_TRUST" = always ]; then want=yes; fi
  pi_expect_statements "$want" "$n" \
    "$(pi_role_name "$T_ASSOC_ROLE") trusts pods.eks.amazonaws.com for this service account" \
    "expected $(pi_role_name "$T_ASSOC_ROLE") to trust pods.eks.amazonaws.com for $T_NS/$T_SA on $C_ARN; saw no such statement" \
    "expected no pods.eks.amazonaws.com statement for this service account in $phase; saw $n" \
    "no pods.eks.amazonaws.com statement for this service account, as $phase expects"
}

# one trust line: pi_expect_statements <want yes|no> <statements found> <pass: present> <fail: missing>
#   <fail: present> <pass: absent>
pi_expect_statements() {
  if [ "$1" = yes ] && [ "$2" -gt 0 ]; then
    pi_pass "$T_WHO trust: $3"
  elif [ "$1" = yes ]; then
    pi_fail "$T_WHO trust: $4"
  elif [ "$2" -gt 0 ]; then
    pi_fail "$T_WHO trust: $5"
  else
    pi_pass "$T_WHO trust: $6"
  fi
}

# Every container and init container of every current pod: Pod Identity variables and no IRSA ones
# (mode pod), or the IRSA variables naming the IRSA role and no Pod Identity ones (mode irsa).
pi_check_pods() {
  local mode="$1" pods total bad
  if ! pods="$(pi_pods)"; then
    return 0
  fi
  total="$(jq 'length' <<<"$pods")"
  if [ "$total" -eq 0 ]; then
    pi_info "$T_WHO pods: none running (a CronJob between runs, or scaled to zero): nothing to check"
    return 0
  fi
  bad="$(jq -r --arg mode "$mode" --arg role "$T_IRSA_ROLE" --argjson pod "$PI_POD_VARS" --argjson irsa "$PI_IRSA_VARS" '
    [.[] | .metadata.name as $p
     | ((.spec.containers // []) + (.spec.initContainers // []))[]
     | . as $c | ([$c.env[]?.name]) as $names
     | (if $mode == "pod" then
          ([$pod[] | select(. as $v | $names | index($v) | not)] | map("no " + .)) +
          ([$irsa[] | select(. as $v | $names | index($v))] | map("has " + .))
        else
          ([$irsa[] | select(. as $v | $names | index($v) | not)] | map("no " + .)) +
          ([$pod[] | select(. as $v | $names | index($v))] | map("has " + .)) +
          ([$c.env[]? | select(.name == "AWS_ROLE_ARN" and .value != $role) | "AWS_ROLE_ARN=" + (.value // "")])
        end) as $problems
     | select($problems | length > 0)
     | "\($p)/\($c.name) " + ($problems | join(","))] | join("; ")' <<<"$pods")"
  local what='the Pod Identity variables and no IRSA ones'
  if [ "$mode" = irsa ]; then what="the IRSA variables (AWS_ROLE_ARN=$T_IRSA_ROLE) and no Pod Identity ones"; fi
  if [ -z "$bad" ]; then
    pi_pass "$T_WHO pods: $total of $total pods have $what in every container and init container"
  else
    pi_fail "$T_WHO pods: expected $what in every container and init container; saw $bad"
  fi
}

# a throwaway aws-cli pod under the service account: sts get-caller-identity
pi_check_sts() {
  local mode="$1" expected arn pod
  expected="$T_IRSA_IDENTITY"
  if [ "$mode" = pod ]; then expected="$T_PI_IDENTITY"; fi
  pod="pod-identity-sts-$(date +%s)-$RANDOM"
  if ! arn="$(pi_k "$T_CLUSTER" -n "$T_NS" run "$pod" --image="$PI_STS_IMAGE" --restart=Never --rm -i --quiet \
    --pod-running-timeout="${PI_TIMEOUT}s" --env="AWS_REGION=$C_REGION" \
    --overrides="{\"apiVersion\":\"v1\",\"spec\":{\"serviceAccountName\":\"$T_SA\"}}" \
    -- sts get-caller-identity --query Arn --output text 2>&1)"; then
    pi_fail "$T_WHO sts: expected $expected<session>; the pod failed: $(printf '%s' "$arn" | tr '\n' ' ')"
    return 0
  fi
  arn="$(printf '%s' "$arn" | tr -d '\r' | tail -n 1)"
  case "$arn" in
    "$expected"*) pi_pass "$T_WHO sts: $arn" ;;
    *) pi_fail "$T_WHO sts: expected $expected<session>; saw $arn" ;;
  esac
}

pi_check_cloudtrail() {
  local since events n
  since="$(date -u -d "-$PI_CLOUDTRAIL minutes" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v "-${PI_CLOUDTRAIL}M" +%Y-%m-%dT%H:%M:%SZ)"
  if ! events="$(pi_aws "$C_ACCOUNT" "$C_REGION" cloudtrail lookup-events \
    --lookup-attributes AttributeKey=EventName,AttributeValue=AssumeRoleForPodIdentity --start-time "$since" 2>&1)"; then
    pi_fail "$C_NAME - cloudtrail: cannot look up events in $C_REGION: $(printf '%s' "$events" | tr '\n' ' ')"
    return 0
  fi
  n="$(jq --arg c "$C_NAME" '[.Events[]? | .CloudTrailEvent | fromjson? | select(.requestParameters.clusterName == $c)] | length' <<<"$events")"
  if [ "$n" -gt 0 ]; then
    pi_pass "$C_NAME - cloudtrail: $n AssumeRoleForPodIdentity events since $since"
  else
    pi_fail "$C_NAME - cloudtrail: expected AssumeRoleForPodIdentity events of this cluster since $since in $C_REGION; saw none (CloudTrail can lag by 15 minutes)"
  fi
}

# a managed add-on's side of the phase: its serviceAccountRoleArn while the phase keeps the
# annotation, a Pod Identity association for the service account once the phase has one, its version
pi_check_addon() {
  local phase="$1" out role version assocs want_role=- want_assocs=no
  if [ "$T_ADDON" = - ]; then
    return 0
  fi
  if ! out="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks describe-addon --cluster-name "$T_CLUSTER" --addon-name "$T_ADDON" 2>&1)"; then
    pi_fail "$T_WHO add-on $T_ADDON: cannot call eks describe-addon: $(printf '%s' "$out" | tr '\n' ' ')"
    return 0
  fi
  role="$(jq -r '.addon.serviceAccountRoleArn // "-"' <<<"$out")"
  version="$(jq -r '.addon.addonVersion // "-"' <<<"$out")"
  assocs="$(jq -r '.addon.podIdentityAssociations // [] | length' <<<"$out")"
  if pi_has "$phase" annotation; then want_role="$T_IRSA_ROLE"; fi
  if pi_has "$phase" association; then want_assocs=yes; fi
  if [ "$version" != "$T_ADDON_VERSION" ]; then
    pi_fail "$T_WHO add-on $T_ADDON: expected version $T_ADDON_VERSION (what the app was synthesized from); saw $version. Record the add-on's describe-addon and describe-addon-configuration output again and synthesize"
  fi
  if [ "$role" != "$want_role" ]; then
    pi_fail "$T_WHO add-on $T_ADDON: expected serviceAccountRoleArn $want_role in $phase; saw $role"
  elif { [ "$want_assocs" = yes ] && [ "$assocs" -eq 0 ]; } || { [ "$want_assocs" = no ] && [ "$assocs" -gt 0 ]; }; then
    pi_fail "$T_WHO add-on $T_ADDON: expected $([ "$want_assocs" = yes ] && echo 'its podIdentityAssociations' || echo 'no podIdentityAssociations') in $phase; saw $assocs"
  else
    pi_pass "$T_WHO add-on $T_ADDON $version: serviceAccountRoleArn $role, $assocs podIdentityAssociations"
  fi
}

# the whole state of a phase
pi_verify_phase() {
  local phase="$1" mode=irsa
  if pi_has "$phase" association; then mode=pod; fi
  pi_info "verifying $PI_WAVE at $phase"
  pi_each_target pi_check_addon "$phase"
  pi_each_target pi_check_association "$phase"
  pi_each_target pi_check_annotation "$phase"
  pi_each_target pi_check_trust "$phase"
  pi_each_target pi_check_pods "$mode"
  if [ "$PI_STS" = 1 ]; then
    pi_each_target pi_check_sts "$mode"
  fi
  if [ "$PI_CLOUDTRAIL" -gt 0 ] && [ "$mode" = pod ]; then
    pi_each_cluster pi_check_cloudtrail
  fi
}

# ---------------------------------------------------------------------------------------------
# Preflight

pi_check_tools() {
  local t
  for t in kubectl aws jq; do
    if ! command -v "$t" >/dev/null 2>&1; then
      pi_fail "- - tools: expected $t on PATH; saw none"
    fi
  done
}

# the assembly must hold the wave at the phase the step deploys
pi_check_assembly() {
  local want="$1" have
  have="$(tr -d '[:space:]' <"$PI_DIR/phase")"
  if [ "$have" = "$want" ]; then
    pi_pass "- - assembly: $PI_ASSEMBLY holds $PI_WAVE at $want"
  else
    pi_fail "- - assembly: expected $PI_ASSEMBLY to hold $PI_WAVE at $want; saw $have. Record $want for $PI_WAVE in the state file, review, run cdk synth, then run this script again"
  fi
}

pi_check_account() {
  local seen
  if ! seen="$(pi_aws "$C_ACCOUNT" "$C_REGION" sts get-caller-identity --query Account 2>&1)"; then
    pi_fail "$C_NAME - credentials: cannot call sts get-caller-identity: $(printf '%s' "$seen" | tr '\n' ' ')"
    return 0
  fi
  seen="$(jq -r '.' <<<"$seen")"
  if [ "$seen" = "$C_ACCOUNT" ]; then
    pi_pass "$C_NAME - credentials: account $seen"
  else
    pi_fail "$C_NAME - credentials: expected account $C_ACCOUNT; saw $seen (give --profiles)"
  fi
}

# the agent DaemonSet(s): desired == ready, on every node
pi_check_agent() {
  if [ "$C_COMPUTE" = AUTO_MODE ]; then
    pi_info "$C_NAME - agent: built into EKS Auto Mode nodes"
    return 0
  fi
  local names='eks-pod-identity-agent' name ds desired ready
  if [ "$C_COMPUTE" = HYBRID_NODES ]; then names='eks-pod-identity-agent eks-pod-identity-agent-hybrid'; fi
  for name in $names; do
    if ! ds="$(pi_k "$C_NAME" -n kube-system get daemonset "$name" -o json 2>&1)"; then
      pi_fail "$C_NAME - agent: expected DaemonSet kube-system/$name; saw: $(printf '%s' "$ds" | tr '\n' ' ')$(pi_foundation_hint)"
      continue
    fi
    desired="$(jq '.status.desiredNumberScheduled // 0' <<<"$ds")"
    ready="$(jq '.status.numberReady // 0' <<<"$ds")"
    if [ "$desired" -gt 0 ] && [ "$desired" = "$ready" ]; then
      pi_pass "$C_NAME - agent: $name ready on $ready of $desired nodes"
    else
      pi_fail "$C_NAME - agent: expected $name ready on every node; saw $ready ready of $desired$(pi_foundation_hint)"
    fi
  done
}

# where a wave's check finds the agent missing on a cluster whose agent the migration installs: the step that installs it
pi_foundation_hint() {
  local list="$PI_DIR/../foundation/clusters.tsv"
  if [ "$(basename "$PI_DIR")" != foundation ] && [ -r "$list" ] && awk -F '\t' -v k="$C_NAME" '$1 == k { found = 1 } END { exit !found }' "$list"; then
    printf '. The migration installs the agent of %s in its foundation step: run runbooks/foundation/apply.sh first (see runbooks/foundation.md)' "$C_NAME"
  fi
}

# apply of the foundation: wait until the agent DaemonSet(s) of the cluster are ready on every node
pi_wait_agent() {
  if [ "$C_COMPUTE" = AUTO_MODE ]; then
    return 0
  fi
  local names='eks-pod-identity-agent' name start ds state desired ready
  if [ "$C_COMPUTE" = HYBRID_NODES ]; then names='eks-pod-identity-agent eks-pod-identity-agent-hybrid'; fi
  for name in $names; do
    start="$(date +%s)"
    while :; do
      state='0 0'
      if ds="$(pi_k "$C_NAME" -n kube-system get daemonset "$name" -o json 2>/dev/null)"; then
        state="$(jq -r '"\(.status.desiredNumberScheduled // 0) \(.status.numberReady // 0)"' <<<"$ds")"
      fi
      read -r desired ready <<<"$state"
      if [ "$desired" -gt 0 ] && [ "$desired" = "$ready" ]; then
        break
      fi
      if [ $(($(date +%s) - start)) -ge "$PI_TIMEOUT" ]; then
        pi_fail "$C_NAME - agent: expected $name ready on every node within ${PI_TIMEOUT}s; saw $ready ready of $desired (aws eks describe-addon --cluster-name $C_NAME --addon-name eks-pod-identity-agent shows the add-on's health)"
        break
      fi
      pi_line "WAIT $C_NAME - agent: $name ready on $ready of $desired nodes"
      pi_sleep
    done
  done
}

# the node role of each managed node group allows eks-auth:AssumeRoleForPodIdentity
pi_check_node_roles() {
  if [ "$C_COMPUTE" = AUTO_MODE ]; then
    return 0
  fi
  local groups group role decision
  if ! groups="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks list-nodegroups --cluster-name "$C_NAME" 2>&1)"; then
    pi_fail "$C_NAME - node role: cannot list node groups: $(printf '%s' "$groups" | tr '\n' ' ')"
    return 0
  fi
  if [ "$(jq '.nodegroups | length' <<<"$groups")" -eq 0 ]; then
    pi_cannot "$C_NAME - node role: no managed node group; check that the instance role of self-managed nodes allows eks-auth:AssumeRoleForPodIdentity"
    return 0
  fi
  for group in $(jq -r '.nodegroups[]' <<<"$groups"); do
    if ! role="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks describe-nodegroup --cluster-name "$C_NAME" --nodegroup-name "$group" \
      --query nodegroup.nodeRole 2>&1)"; then
      pi_fail "$C_NAME - node role: cannot describe node group $group: $(printf '%s' "$role" | tr '\n' ' ')"
      continue
    fi
    role="$(jq -r '.' <<<"$role")"
    if ! decision="$(pi_aws "$C_ACCOUNT" "$C_REGION" iam simulate-principal-policy --policy-source-arn "$role" \
      --action-names eks-auth:AssumeRoleForPodIdentity --resource-arns "$C_ARN" --query 'EvaluationResults[0].EvalDecision' 2>&1)"; then
      pi_fail "$C_NAME - node role: cannot simulate $role: $(printf '%s' "$decision" | tr '\n' ' ')"
      continue
    fi
    decision="$(jq -r '.' <<<"$decision")"
    if [ "$decision" = allowed ]; then
      pi_pass "$C_NAME - node role: $(pi_role_name "$role") (node group $group) allows eks-auth:AssumeRoleForPodIdentity"
    else
      pi_fail "$C_NAME - node role: expected $(pi_role_name "$role") (node group $group) to allow eks-auth:AssumeRoleForPodIdentity on $C_ARN; saw $decision. Attach AmazonEKSWorkerNodePolicy or that action"
    fi
  done
}

# Security Groups for Pods needs POD_SECURITY_GROUP_ENFORCING_MODE=standard (F15)
pi_check_pod_eni() {
  local ds eni mode
  if ! ds="$(pi_k "$C_NAME" -n kube-system get daemonset aws-node -o json 2>/dev/null)"; then
    pi_info "$C_NAME - security groups for pods: no aws-node DaemonSet (not the VPC CNI): nothing to check"
    return 0
  fi
  eni="$(jq -r '[.spec.template.spec.containers[].env[]? | select(.name == "ENABLE_POD_ENI") | .value] | first // "false"' <<<"$ds")"
  mode="$(jq -r '[.spec.template.spec.containers[].env[]? | select(.name == "POD_SECURITY_GROUP_ENFORCING_MODE") | .value] | first // "strict"' <<<"$ds")"
  if [ "$eni" != true ]; then
    pi_pass "$C_NAME - security groups for pods: not enabled (ENABLE_POD_ENI=$eni)"
  elif [ "$mode" = standard ]; then
    pi_pass "$C_NAME - security groups for pods: POD_SECURITY_GROUP_ENFORCING_MODE=standard"
  else
    pi_fail "$C_NAME - security groups for pods: expected POD_SECURITY_GROUP_ENFORCING_MODE=standard with ENABLE_POD_ENI=true; saw $mode (pods with a security group could not reach the agent)"
  fi
}

pi_cannot_see() {
  pi_cannot "$C_NAME - SDK versions: every container's AWS SDK must support the container credential provider (e.g. boto3 >= 1.34.41, AWS CLI >= 1.30.0 / 2.15.0; see the EKS user guide, pod-id-minimum-sdk); older SDKs silently use the node role"
  pi_cannot "$C_NAME - EKS Auth endpoint: nodes without internet access need the com.amazonaws.$C_REGION.eks-auth interface endpoint in the cluster's VPC"
}

# The proxy settings every container would get: env values, valueFrom and envFrom resolved from
# ConfigMaps and Secrets of the namespace (F12). Prints the containers whose proxy would receive
# the credential requests.
pi_proxy_findings() {
  local spec_json="$1" what="$2" refs cms secrets
  refs="$(jq -c '[((.containers // []) + (.initContainers // []))[]
    | ((.envFrom // [])[] | (.configMapRef.name // empty | {cm: .}), (.secretRef.name // empty | {secret: .})),
      ((.env // [])[] | .valueFrom | (.configMapKeyRef.name // empty | {cm: .}), (.secretKeyRef.name // empty | {secret: .}))] | unique' <<<"$spec_json")"
  cms='[]'
  secrets='[]'
  if [ "$(jq '[.[] | select(.cm)] | length' <<<"$refs")" -gt 0 ]; then
    if ! cms="$(pi_k "$T_CLUSTER" -n "$T_NS" get configmaps -o json 2>/dev/null | jq -c '.items')"; then
      pi_fail "$T_WHO proxy: $what reads ConfigMaps that cannot be read"
      return 0
    fi
  fi
  local name s
  for name in $(jq -r '.[] | .secret // empty' <<<"$refs"); do
    if ! s="$(pi_k "$T_CLUSTER" -n "$T_NS" get secret "$name" -o json 2>/dev/null)"; then
      pi_fail "$T_WHO proxy: $what reads Secret $name, which cannot be read"
      return 0
    fi
    secrets="$(jq -c --argjson s "$s" '. + [$s]' <<<"$secrets")"
  done
  jq -r --argjson cms "$cms" --argjson secrets "$secrets" --argjson agent "$PI_AGENT_ADDRESSES" --arg what "$what" '
    def cm($n): ([$cms[] | select(.metadata.name == $n) | .data // {}] | first // {});
    def sec($n): ([$secrets[] | select(.metadata.name == $n) | .data // {} | map_values(@base64d)] | first // {});
    # one line for the whole spec: the findings of its containers, joined
    [((.containers // []) + (.initContainers // []))[]
    | . as $c
    | (reduce ((.envFrom // [])[]) as $f ({};
         . + ((if $f.configMapRef then cm($f.configMapRef.name) else sec($f.secretRef.name) end)
              | with_entries(.key = ($f.prefix // "") + .key))))
    | reduce (($c.env // [])[]) as $e (.;
         .[$e.name] = (if $e.valueFrom.configMapKeyRef then cm($e.valueFrom.configMapKeyRef.name)[$e.valueFrom.configMapKeyRef.key]
                       elif $e.valueFrom.secretKeyRef then sec($e.valueFrom.secretKeyRef.name)[$e.valueFrom.secretKeyRef.key]
                       else $e.value end))
    | (.HTTP_PROXY // .http_proxy // .HTTPS_PROXY // .https_proxy // "") as $proxy
    | ((.NO_PROXY // .no_proxy // "") | split(",") | map(gsub("^\\s+|\\s+$"; ""))) as $no
    | select($proxy != "")
    | [$agent[] | select(. as $a | $no | index($a) | not)] as $missing
    | select($missing | length > 0)
    | "\($what)/\($c.name): proxy \($proxy), NO_PROXY lacks \($missing | join(","))"] | join("; ")' <<<"$spec_json"
}

pi_check_proxies() {
  local pods findings='' f c ns sa kind name spec lower
  if pods="$(pi_pods)"; then
    for name in $(jq -r '.[].metadata.name' <<<"$pods"); do
      spec="$(jq -c --arg n "$name" '.[] | select(.metadata.name == $n) | .spec' <<<"$pods")"
      f="$(pi_proxy_findings "$spec" "pod/$name")" || true
      findings="$findings${f:+$f; }"
    done
  fi
  while IFS=$'\t' read -r c ns sa kind name <&4; do
    if [ "$c" != "$T_CLUSTER" ] || [ "$ns" != "$T_NS" ] || [ "$sa" != "$T_SA" ] || [ "$kind" = Pod ]; then continue; fi
    lower="$(tr '[:upper:]' '[:lower:]' <<<"$kind")"
    if ! spec="$(pi_k "$T_CLUSTER" -n "$T_NS" get "$lower" "$name" -o json 2>/dev/null)"; then
      pi_info "$T_WHO proxy: $lower/$name of the inventory is gone"
      continue
    fi
    spec="$(jq -c 'if .kind == "CronJob" then .spec.jobTemplate.spec.template.spec else .spec.template.spec end' <<<"$spec")"
    f="$(pi_proxy_findings "$spec" "$lower/$name")" || true
    findings="$findings${f:+$f; }"
  done 4< <(grep -v '^#' "$PI_DIR/workloads.tsv" || true)
  if [ -z "$findings" ]; then
    pi_pass "$T_WHO proxy: no container sends the agent's address (169.254.170.23, [fd00:ec2::23]) to a proxy"
  else
    pi_fail "$T_WHO proxy: expected NO_PROXY to hold 169.254.170.23,[fd00:ec2::23] wherever HTTP(S)_PROXY is set; saw ${findings%; }"
  fi
}

# F5: before the OIDC trust goes, no pod of the wave may still use IRSA
pi_check_no_irsa_pods() {
  local assoc created pods bad
  if ! assoc="$(pi_association)"; then
    return 0
  fi
  if [ -z "$assoc" ]; then
    pi_fail "$T_WHO association: expected one before the OIDC trust goes; saw none"
    return 0
  fi
  # AWS CLI v2 prints timestamps in ISO 8601, v1 as seconds since the epoch
  created="$(jq -r '.association.createdAt | if type == "number" then (floor | todate) else . end' <<<"$assoc")"
  if ! pods="$(pi_pods)"; then
    return 0
  fi
  bad="$(jq -r --arg created "$created" '
    def epoch: sub("\\.[0-9]+"; "") | sub("[+]00:00$"; "Z") | fromdateiso8601;
    ($created | epoch) as $t
    | [.[] | .metadata.name as $p
       | ([((.spec.containers // []) + (.spec.initContainers // []))[] | select([.env[]?.name] | index("AWS_WEB_IDENTITY_TOKEN_FILE")) | .name]) as $irsa
       | select((.metadata.creationTimestamp | epoch) < $t or ($irsa | length > 0))
       | "\($p) (created \(.metadata.creationTimestamp)\(if ($irsa | length) > 0 then ", AWS_WEB_IDENTITY_TOKEN_FILE in " + ($irsa | join(",")) else "" end))"]
    | join("; ")' <<<"$pods")"
  if [ -z "$bad" ]; then
    pi_pass "$T_WHO no IRSA pods: every pod was created after the association ($created) and none has AWS_WEB_IDENTITY_TOKEN_FILE"
  else
    pi_fail "$T_WHO no IRSA pods: expected every pod created after the association ($created) without AWS_WEB_IDENTITY_TOKEN_FILE in any container or init container; saw $bad. Restart them (apply.sh of the POD_IDENTITY step restarts every workload)"
  fi
}

pi_preflight() {
  local from="$1" to="$2"
  pi_check_tools
  if [ "$PI_FAILS" -gt 0 ]; then
    return 0
  fi
  pi_check_assembly "$to"
  pi_each_cluster pi_check_account
  # an add-on is deployed as recorded (version, role): it must still be as recorded
  pi_each_target pi_check_addon "$from"
  if pi_has "$to" association && ! pi_has "$from" association; then
    pi_each_cluster pi_check_agent
    pi_each_cluster pi_check_node_roles
    pi_each_cluster pi_check_pod_eni
    pi_each_target pi_check_proxies
    pi_each_cluster pi_cannot_see
  fi
  if pi_has "$from" association && ! pi_has "$to" association; then
    # back to IRSA: restarted pods must find the annotation
    pi_each_target pi_check_annotation "$from"
  fi
  if pi_has "$from" irsaTrust && ! pi_has "$to" irsaTrust; then
    pi_each_target pi_check_no_irsa_pods
  fi
  if pi_has "$from" podIdentityTrust && ! pi_has "$to" podIdentityTrust; then
    pi_each_target pi_check_association "$from"
  fi
}

# ---------------------------------------------------------------------------------------------
# Changes

pi_deploy() {
  local pattern cdk
  if [ "$PI_SKIP_DEPLOY" = 1 ]; then
    pi_todo "- - deploy: skipped (--skip-deploy); make sure the pipeline deployed $PI_ASSEMBLY before going on"
    return 0
  fi
  pattern="$(pi_lookup "$PI_DIR/wave.tsv" stacks)"
  read -r -a cdk <<<"$PI_CDK"
  pi_do "- - deploy: ${cdk[*]} deploy --app $PI_ASSEMBLY '$pattern'"
  if "${cdk[@]}" deploy --app "$PI_ASSEMBLY" "$pattern"; then
    pi_pass "- - deploy: $pattern"
  else
    pi_fail "- - deploy: cdk deploy of $pattern failed; CloudFormation rolled the stacks back. Nothing else was changed"
  fi
}

# poll until the association is visible (want=present) or gone (want=absent)
pi_wait_association() {
  local want="$1" start assoc waited
  start="$(date +%s)"
  while :; do
    if ! assoc="$(pi_association)"; then
      return 0
    fi
    waited=$(($(date +%s) - start))
    if { [ "$want" = present ] && [ -n "$assoc" ]; } || { [ "$want" = absent ] && [ -z "$assoc" ]; }; then
      pi_pass "$T_WHO association: $want after ${waited}s"
      return 0
    fi
    if [ "$waited" -ge "$PI_TIMEOUT" ]; then
      pi_fail "$T_WHO association: expected it $want within ${PI_TIMEOUT}s; saw it $([ -n "$assoc" ] && echo present || echo absent)"
      return 0
    fi
    pi_line "WAIT $T_WHO association: not $want yet"
    pi_sleep
  done
}

# the mutating webhook runs on a server-side dry run: a pod under the service account gets the
# Pod Identity variables (want=pod) or the IRSA ones (want=irsa), without starting anything
pi_check_injection() {
  local mode="$1" pod problems
  if ! pod="$(pi_k "$T_CLUSTER" -n "$T_NS" run pod-identity-dry-run --dry-run=server -o json --restart=Never \
    --image="$PI_STS_IMAGE" --overrides="{\"apiVersion\":\"v1\",\"spec\":{\"serviceAccountName\":\"$T_SA\"}}" 2>&1)"; then
    local why
    why="$(printf '%s' "$pod" | tr '\n' ' ')"
    case "$why" in
      *'exceeded quota'*)
        # quota admission counts a server-side dry run as a pod (seen on a real API server)
        why="$why. The namespace's ResourceQuota has no room for the probe pod: give it room for one more pod during the step (a rolling restart with maxSurge needs it too), then run this script again" ;;
    esac
    pi_fail "$T_WHO injection: the dry-run pod was refused: $why"
    return 0
  fi
  problems="$(jq -r --arg mode "$mode" --argjson pod "$PI_POD_VARS" --argjson irsa "$PI_IRSA_VARS" '
    [.spec.containers[0].env[]?.name] as $names
    | (if $mode == "pod" then $pod else $irsa end) as $want
    | (if $mode == "pod" then $irsa else $pod end) as $not
    | ([$want[] | select(. as $v | $names | index($v) | not)] | map("no " + .)) + ([$not[] | select(. as $v | $names | index($v))] | map("has " + .))
    | join(",")' <<<"$pod")"
  if [ -z "$problems" ]; then
    pi_pass "$T_WHO injection: a new pod gets the $([ "$mode" = pod ] && echo 'Pod Identity' || echo IRSA) variables (server-side dry run)"
  else
    pi_fail "$T_WHO injection: expected a new pod to get the $([ "$mode" = pod ] && echo 'Pod Identity' || echo IRSA) variables only; saw $problems (server-side dry run)"
  fi
}

# wait until a StatefulSet or DaemonSet has all its pods ready and at least $3 of them updated
# (default: all of them; OnDelete replaces one pod at a time, so after the n-th deletion only n are)
pi_wait_ready() {
  local kind="$1" name="$2" least="${3:-}" start state
  start="$(date +%s)"
  while :; do
    state="$(pi_k "$T_CLUSTER" -n "$T_NS" get "$kind" "$name" -o json | jq -r '
      if .kind == "DaemonSet" then [.status.desiredNumberScheduled // 0, .status.numberReady // 0, .status.updatedNumberScheduled // 0]
      else [.spec.replicas // 1, .status.readyReplicas // 0, .status.updatedReplicas // 0] end | map(tostring) | join(" ")')"
    local want ready updated
    read -r want ready updated <<<"$state"
    if [ "$want" = "$ready" ] && [ "$updated" -ge "${least:-$want}" ]; then
      return 0
    fi
    if [ $(($(date +%s) - start)) -ge "$PI_TIMEOUT" ]; then
      pi_fail "$T_WHO restart: expected $kind/$name ready within ${PI_TIMEOUT}s with ${least:-$want} pods updated; saw $ready ready, $updated updated of $want"
      return 1
    fi
    pi_sleep
  done
}

# OnDelete: a rollout restart changes the template only; delete the pods one at a time
pi_restart_on_delete() {
  local kind="$1" name="$2" pods pod n=0
  pi_k "$T_CLUSTER" -n "$T_NS" rollout restart "$kind/$name" >/dev/null
  pods="$(pi_pods)" || return 0
  for pod in $(jq -r --arg k "$kind" --arg n "$name" '.[] | select(any(.metadata.ownerReferences[]?; (.kind | ascii_downcase) == $k and .name == $n)) | .metadata.name' <<<"$pods"); do
    pi_do "$T_WHO restart: $kind/$name uses OnDelete: deleting pod $pod"
    pi_k "$T_CLUSTER" -n "$T_NS" delete pod "$pod" --wait=true >/dev/null
    n=$((n + 1))
    pi_wait_ready "$kind" "$name" "$n" || return 0
  done
  pi_pass "$T_WHO restart: $kind/$name (OnDelete): $n pods recreated one at a time, all ready"
}

pi_restart_workload() {
  local kind="$1" name="$2" strategy out
  case "$kind" in
    deployment|statefulset|daemonset)
      if [ "$kind" != deployment ]; then
        strategy="$(pi_k "$T_CLUSTER" -n "$T_NS" get "$kind" "$name" -o json | jq -r '.spec.updateStrategy.type // "RollingUpdate"')"
        if [ "$strategy" = OnDelete ]; then
          pi_restart_on_delete "$kind" "$name"
          return 0
        fi
      fi
      pi_do "$T_WHO restart: kubectl rollout restart $kind/$name"
      if ! out="$(pi_k "$T_CLUSTER" -n "$T_NS" rollout restart "$kind/$name" 2>&1)"; then
        pi_fail "$T_WHO restart: $kind/$name: $(printf '%s' "$out" | tr '\n' ' ')"
      elif out="$(pi_k "$T_CLUSTER" -n "$T_NS" rollout status "$kind/$name" --timeout="${PI_TIMEOUT}s" 2>&1)"; then
        pi_pass "$T_WHO restart: $kind/$name rolled out"
      else
        pi_fail "$T_WHO restart: expected $kind/$name rolled out within ${PI_TIMEOUT}s; saw $(printf '%s' "$out" | tail -n 1)"
      fi
      ;;
    replicaset)
      local pods pod
      pods="$(pi_pods)" || return 0
      for pod in $(jq -r --arg n "$name" '.[] | select(any(.metadata.ownerReferences[]?; .kind == "ReplicaSet" and .name == $n)) | .metadata.name' <<<"$pods"); do
        pi_k "$T_CLUSTER" -n "$T_NS" delete pod "$pod" --wait=true >/dev/null
      done
      if pi_wait_ready replicaset "$name"; then
        pi_pass "$T_WHO restart: replicaset/$name: pods recreated, all ready"
      fi
      ;;
    cronjob)
      if [ "$PI_TRIGGER_CRONJOBS" != 1 ]; then
        pi_todo "$T_WHO restart: cronjob/$name gets new pods at its next run; verify.sh checks them then (or run apply.sh with --trigger-cronjobs)"
        return 0
      fi
      local job
      job="$(printf '%s' "$name" | cut -c1-40)-pod-identity-$(date +%s)"
      pi_do "$T_WHO restart: kubectl create job $job --from=cronjob/$name"
      if ! out="$(pi_k "$T_CLUSTER" -n "$T_NS" create job "$job" --from="cronjob/$name" 2>&1)"; then
        pi_fail "$T_WHO restart: cannot create a job from cronjob/$name: $(printf '%s' "$out" | tr '\n' ' ')"
      elif out="$(pi_k "$T_CLUSTER" -n "$T_NS" wait --for=condition=complete "job/$job" --timeout="${PI_TIMEOUT}s" 2>&1)"; then
        pi_pass "$T_WHO restart: job/$job from cronjob/$name completed"
      else
        pi_fail "$T_WHO restart: expected job/$job (from cronjob/$name) complete within ${PI_TIMEOUT}s; saw $(printf '%s' "$out" | tail -n 1)"
      fi
      ;;
    job)
      pi_todo "$T_WHO restart: job/$name keeps its credentials until it ends; re-run it if it must change now"
      ;;
    pod)
      pi_todo "$T_WHO restart: pod/$name has no controller: delete it and create it again from its manifest"
      ;;
    *)
      pi_todo "$T_WHO restart: $kind/$name is a controller this step cannot restart: restart its pods yourself (e.g. kubectl argo rollouts restart for an Argo Rollout), then run verify.sh"
      ;;
  esac
}

# the workloads of the current pods of the service account, plus the inventory's CronJobs
pi_workloads() {
  local pods owner
  pods="$(pi_pods)" || return 0
  {
    jq -r '.[] | (.metadata.ownerReferences // [] | map(select(.controller)) | first) as $o
      | if $o == null then "pod \(.metadata.name)" else "\($o.kind | ascii_downcase) \($o.name)" end' <<<"$pods" |
      while read -r kind name; do
        case "$kind" in
          replicaset|job)
            owner="$(pi_k "$T_CLUSTER" -n "$T_NS" get "$kind" "$name" -o json 2>/dev/null |
              jq -r '.metadata.ownerReferences // [] | map(select(.controller)) | first | if . == null then "" else "\(.kind | ascii_downcase) \(.name)" end')" || owner=''
            if [ -n "$owner" ]; then echo "$owner"; else echo "$kind $name"; fi
            ;;
          *) echo "$kind $name" ;;
        esac
      done
    awk -F '\t' -v c="$T_CLUSTER" -v n="$T_NS" -v s="$T_SA" '$1 == c && $2 == n && $3 == s && $4 == "CronJob" { print "cronjob " $5 }' "$PI_DIR/workloads.tsv"
  } | sort -u
}

pi_restart_target() {
  local kind name
  while read -r kind name <&5; do
    [ -n "$kind" ] && pi_restart_workload "$kind" "$name"
  done 5< <(pi_workloads)
}

pi_annotate() {
  local mode="$1" out
  if [ "$T_ADDON" != - ]; then
    # EKS writes the add-on's ServiceAccount: the deploy changed its serviceAccountRoleArn
    pi_info "$T_WHO annotation: add-on $T_ADDON $([ "$mode" = remove ] && echo removes || echo sets) it (serviceAccountRoleArn, in the deploy); no kubectl annotate"
    return 0
  fi
  if [ "$mode" = remove ]; then
    pi_do "$T_WHO annotation: kubectl annotate serviceaccount $T_SA $PI_ANNOTATION-"
    out="$(pi_k "$T_CLUSTER" -n "$T_NS" annotate serviceaccount "$T_SA" "$PI_ANNOTATION-" 2>&1)" || {
      pi_fail "$T_WHO annotation: cannot remove it: $(printf '%s' "$out" | tr '\n' ' ')"
      return 0
    }
  else
    pi_do "$T_WHO annotation: kubectl annotate --overwrite serviceaccount $T_SA $PI_ANNOTATION=$T_IRSA_ROLE"
    out="$(pi_k "$T_CLUSTER" -n "$T_NS" annotate --overwrite serviceaccount "$T_SA" "$PI_ANNOTATION=$T_IRSA_ROLE" 2>&1)" || {
      pi_fail "$T_WHO annotation: cannot set it: $(printf '%s' "$out" | tr '\n' ' ')"
      return 0
    }
  fi
  if [ "$T_HELM" != - ]; then
    if [ "$mode" = remove ]; then
      pi_todo "$T_WHO annotation: Helm release $T_HELM owns this ServiceAccount: remove $PI_ANNOTATION from its values (e.g. serviceAccount.annotations) or the next helm upgrade puts it back"
    else
      pi_todo "$T_WHO annotation: Helm release $T_HELM owns this ServiceAccount: put $PI_ANNOTATION=$T_IRSA_ROLE back in its values"
    fi
  fi
}

# One step of the phase table, from -> to, forward or back.
pi_step() {
  local from="$1" to="$2" mode=irsa change=none
  if pi_has "$to" association; then mode=pod; fi
  if pi_has "$to" association && ! pi_has "$from" association; then change=present; fi
  if pi_has "$from" association && ! pi_has "$to" association; then change=absent; fi
  pi_preflight "$from" "$to"
  if [ "$PI_FAILS" -gt 0 ]; then
    pi_line "STOP: $PI_FAILS preflight checks failed; nothing was changed"
    return 0
  fi
  # the annotation comes back before anything else, so pods recreated from now on find it
  if pi_has "$to" annotation && ! pi_has "$from" annotation; then
    pi_each_target pi_annotate add
  fi
  pi_deploy
  if [ "$PI_FAILS" -gt 0 ]; then
    return 0
  fi
  if [ "$change" != none ]; then
    pi_each_target pi_wait_association "$change"
  fi
  if [ "$PI_FAILS" -gt 0 ]; then
    pi_line "STOP: the associations are not as $to expects; no pod was restarted"
    return 0
  fi
  if [ "$change" != none ]; then
    # F9: associations are eventually consistent; prove the webhook injects before restarting anything
    pi_each_target pi_check_injection "$mode"
    if [ "$PI_FAILS" -gt 0 ]; then
      pi_line "STOP: new pods would not get the expected credentials; no pod was restarted"
      return 0
    fi
    pi_each_target pi_restart_target
  fi
  if pi_has "$from" annotation && ! pi_has "$to" annotation; then
    pi_each_target pi_annotate remove
  fi
  pi_verify_phase "$to"
}

pi_main() {
  PI_STEP="$1"
  PI_FROM="$2"
  PI_TO="$3"
  PI_DIR="$(cd "$4" && pwd)"
  shift 4
  PI_SCRIPT="$PI_STEP.sh"
  PI_ASSEMBLY="$(cd "$PI_DIR/../.." && pwd)"
  PI_WAVE="$(pi_lookup "$PI_DIR/wave.tsv" wave)"
  PI_PHASES="$(grep -v '^#' "$PI_DIR/phases.tsv")"
  pi_parse_args "$@"
  pi_info "$PI_WAVE $PI_FROM -> $PI_TO: $PI_STEP"
  case "$PI_STEP" in
    preflight) pi_preflight "$PI_FROM" "$PI_TO" ;;
    apply) pi_step "$PI_FROM" "$PI_TO" ;;
    verify) pi_verify_phase "$PI_TO" ;;
    rollback) pi_step "$PI_TO" "$PI_FROM" ;;
  esac
  if [ "$PI_FAILS" -gt 0 ]; then
    pi_line "RESULT $PI_WAVE $PI_STEP $PI_FROM -> $PI_TO: $PI_FAILS checks failed"
    exit 1
  fi
  pi_line "RESULT $PI_WAVE $PI_STEP $PI_FROM -> $PI_TO: every check passed"
}

# ---------------------------------------------------------------------------------------------
# The retirement of a cluster's OIDC provider: runbooks/oidc-providers/{preflight,verify}.sh <cluster>
# Data: oidc-providers/clusters.tsv (as a wave's) and providers.tsv:
#   cluster, step, provider ARN, stack name, stack region, logical ID

pi_provider_usage() {
  cat <<USAGE
usage: $PI_SCRIPT <cluster> [options]

  $PI_STEP the recorded step of the OIDC provider of <cluster> (see ../oidc-providers.md).

options:
  --contexts FILE   kubeconfig context per cluster: lines "<cluster name><TAB><context>"
                    (default: the cluster ARN, the name 'aws eks update-kubeconfig' gives it)
  --profiles FILE   AWS CLI profile per account: lines "<account><TAB><profile>"
                    (default: the current credentials, which must be in the cluster's account)
  -h, --help        this text

Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
USAGE
}

pi_provider_args() {
  PI_CONTEXTS=''
  PI_PROFILES=''
  P_CLUSTER=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --contexts|--profiles)
        if [ $# -lt 2 ] || [ ! -r "$2" ]; then
          echo "$PI_SCRIPT: $1 needs a readable file" >&2
          exit 2
        fi
        if [ "$1" = --contexts ]; then PI_CONTEXTS="$2"; else PI_PROFILES="$2"; fi
        shift 2
        ;;
      -h|--help) pi_provider_usage; exit 0 ;;
      -*) echo "$PI_SCRIPT: unknown option $1" >&2; pi_provider_usage >&2; exit 2 ;;
      *)
        if [ -n "$P_CLUSTER" ]; then
          echo "$PI_SCRIPT: one cluster at a time; got $P_CLUSTER and $1" >&2
          exit 2
        fi
        P_CLUSTER="$1"
        shift
        ;;
    esac
  done
  if [ -z "$P_CLUSTER" ]; then
    pi_provider_usage >&2
    exit 2
  fi
  local line
  line="$(awk -F '\t' -v k="$P_CLUSTER" '$1 == k { print; exit }' "$PI_DIR/providers.tsv")"
  if [ -z "$line" ]; then
    echo "$PI_SCRIPT: the state records no provider step for cluster $P_CLUSTER; these: $(grep -v '^#' "$PI_DIR/providers.tsv" | cut -f1 | tr '\n' ' ')" >&2
    exit 2
  fi
  IFS=$'\t' read -r _ P_STEP P_ARN P_STACK P_STACK_REGION P_LOGICAL_ID <<<"$line"
  C_NAME="$P_CLUSTER"
  pi_cluster "$P_CLUSTER"
}

# whether the provider exists: sets P_EXISTS to yes or no; fails the check (and returns 1) on any other error
pi_provider_exists() {
  local out
  if out="$(pi_aws "$C_ACCOUNT" "$P_STACK_REGION" iam get-open-id-connect-provider --open-id-connect-provider-arn "$P_ARN" 2>&1)"; then
    P_EXISTS=yes
  elif grep -q NoSuchEntity <<<"$out"; then
    P_EXISTS=no
  else
    pi_fail "$C_NAME - provider: cannot call iam get-open-id-connect-provider: $(printf '%s' "$out" | tr '\n' ' ')"
    return 1
  fi
}

# no IAM role of the account names the provider in its trust (roles outside the app included)
pi_provider_check_roles() {
  local out users
  if ! out="$(pi_aws "$C_ACCOUNT" "$P_STACK_REGION" iam list-roles 2>&1)"; then
    pi_fail "$C_NAME - roles: cannot call iam list-roles: $(printf '%s' "$out" | tr '\n' ' ')"
    return 0
  fi
  users="$(jq -r --arg arn "$P_ARN" '[.Roles[] | select(.AssumeRolePolicyDocument | tostring | contains($arn)) | .RoleName] | join(", ")' <<<"$out")"
  if [ -z "$users" ]; then
    pi_pass "$C_NAME - roles: no role of $C_ACCOUNT trusts $P_ARN"
  else
    pi_fail "$C_NAME - roles: expected no role to trust $P_ARN; saw $users. Deploy the waves that drop it, or move these roles off IRSA first"
  fi
}

# no managed add-on of the cluster uses IRSA (serviceAccountRoleArn)
pi_provider_check_addons() {
  local out addon role users=''
  if ! out="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks list-addons --cluster-name "$C_NAME" 2>&1)"; then
    pi_fail "$C_NAME - add-ons: cannot call eks list-addons: $(printf '%s' "$out" | tr '\n' ' ')"
    return 0
  fi
  for addon in $(jq -r '.addons[]' <<<"$out"); do
    if ! role="$(pi_aws "$C_ACCOUNT" "$C_REGION" eks describe-addon --cluster-name "$C_NAME" --addon-name "$addon" 2>&1)"; then
      pi_fail "$C_NAME - add-ons: cannot call eks describe-addon for $addon: $(printf '%s' "$role" | tr '\n' ' ')"
      continue
    fi
    role="$(jq -r '.addon.serviceAccountRoleArn // empty' <<<"$role")"
    if [ -n "$role" ]; then
      users="$users${users:+, }$addon ($role)"
    fi
  done
  if [ -z "$users" ]; then
    pi_pass "$C_NAME - add-ons: none has a serviceAccountRoleArn"
  else
    pi_fail "$C_NAME - add-ons: expected no managed add-on on IRSA; saw $users. Move them to Pod Identity (the add-on's podIdentityAssociations) first"
  fi
}

# no running pod of the cluster carries the IRSA variables
pi_provider_check_pods() {
  local out bad
  if ! out="$(pi_k "$C_NAME" get pods -A -o json 2>&1)"; then
    pi_fail "$C_NAME - pods: cannot list the pods: $(printf '%s' "$out" | tr '\n' ' ')"
    return 0
  fi
  bad="$(jq -r '[.items[] | select(.status.phase != "Succeeded" and .status.phase != "Failed")
    | select([((.spec.containers // []) + (.spec.initContainers // []))[] | .env[]?.name] | index("AWS_WEB_IDENTITY_TOKEN_FILE"))
    | "\(.metadata.namespace)/\(.metadata.name)"] | join(", ")' <<<"$out")"
  if [ -z "$bad" ]; then
    pi_pass "$C_NAME - pods: none has AWS_WEB_IDENTITY_TOKEN_FILE"
  else
    pi_fail "$C_NAME - pods: expected no pod on IRSA; saw $bad. Migrate or restart them first"
  fi
}

pi_provider_preflight() {
  pi_check_tools
  pi_check_account
  if [ "$PI_FAILS" -gt 0 ]; then
    return 0
  fi
  if [ "$P_STEP" = KEPT ]; then
    pi_pass "$C_NAME - step: KEPT takes the provider out of the app and keeps it; nothing can break"
    return 0
  fi
  if ! pi_provider_exists; then
    return 0
  fi
  case "$P_STEP:$P_EXISTS" in
    ADOPTED:no) pi_fail "$C_NAME - provider: expected $P_ARN to exist to import it; saw none" ;;
    RETIRED:no) pi_info "$C_NAME - provider: $P_ARN is already gone" ;;
    *:yes) pi_pass "$C_NAME - provider: $P_ARN exists" ;;
    *) pi_info "$C_NAME - provider: $P_ARN does not exist; the deploy creates it" ;;
  esac
  pi_provider_check_roles
  pi_provider_check_addons
  pi_provider_check_pods
}

pi_provider_verify() {
  local out
  if ! pi_provider_exists; then
    return 0
  fi
  case "$P_STEP" in
    RETIRED)
      if [ "$P_EXISTS" = no ]; then
        pi_pass "$C_NAME - provider: $P_ARN is deleted"
      else
        pi_fail "$C_NAME - provider: expected $P_ARN deleted; it exists. Was the RETIRING step deployed before (DeletionPolicy Delete)? If not, record RETIRING, deploy, then RETIRED again"
      fi
      return 0
      ;;
  esac
  if [ "$P_EXISTS" = yes ]; then
    pi_pass "$C_NAME - provider: $P_ARN exists"
  else
    pi_fail "$C_NAME - provider: expected $P_ARN to exist at $P_STEP; saw none"
  fi
  if [ "$P_STEP" = KEPT ]; then
    return 0
  fi
  if ! out="$(pi_aws "$C_ACCOUNT" "$P_STACK_REGION" cloudformation describe-stack-resource --stack-name "$P_STACK" --logical-resource-id "$P_LOGICAL_ID" 2>&1)"; then
    pi_fail "$C_NAME - stack: expected $P_STACK to hold $P_LOGICAL_ID; cloudformation describe-stack-resource says: $(printf '%s' "$out" | tr '\n' ' ')"
    return 0
  fi
  out="$(jq -r '"\(.StackResourceDetail.PhysicalResourceId) \(.StackResourceDetail.ResourceStatus)"' <<<"$out")"
  case "$out" in
    "$P_ARN "*_COMPLETE) pi_pass "$C_NAME - stack: $P_STACK holds $P_ARN (${out##* })" ;;
    *) pi_fail "$C_NAME - stack: expected $P_STACK to hold $P_ARN, complete; saw $out" ;;
  esac
}

pi_provider_main() {
  PI_STEP="$1"
  PI_DIR="$(cd "$2" && pwd)"
  shift 2
  PI_SCRIPT="$PI_STEP.sh"
  pi_provider_args "$@"
  pi_info "$P_CLUSTER OIDC provider $P_STEP: $PI_STEP"
  case "$PI_STEP" in
    preflight) pi_provider_preflight ;;
    verify) pi_provider_verify ;;
  esac
  if [ "$PI_FAILS" -gt 0 ]; then
    pi_line "RESULT $P_CLUSTER provider $PI_STEP $P_STEP: $PI_FAILS checks failed"
    exit 1
  fi
  pi_line "RESULT $P_CLUSTER provider $PI_STEP $P_STEP: every check passed"
}

# ---------------------------------------------------------------------------------------------
# The foundation: runbooks/foundation/{preflight,apply,verify}.sh deploy the eks-pod-identity-agent
# add-on of every cluster whose agent the migration installs (<migration>/Foundation/*), before any
# wave needs it (a wave's step to POD_IDENTITY checks the agent first).
# Data: foundation/wave.tsv (wave "foundation", its stack pattern) and foundation/clusters.tsv (as a wave's)

pi_foundation_main() {
  PI_STEP="$1"
  PI_DIR="$(cd "$2" && pwd)"
  shift 2
  PI_SCRIPT="$PI_STEP.sh"
  PI_ASSEMBLY="$(cd "$PI_DIR/../.." && pwd)"
  PI_WAVE=foundation
  PI_FROM='no agent'
  PI_TO='agent ready'
  pi_parse_args "$@"
  pi_info "foundation: $PI_STEP (the eks-pod-identity-agent add-on of $(grep -vc '^#' "$PI_DIR/clusters.tsv") clusters)"
  case "$PI_STEP" in
    preflight|apply)
      pi_check_tools
      if [ "$PI_FAILS" -eq 0 ]; then
        pi_each_cluster pi_check_account
        pi_each_cluster pi_check_node_roles
      fi
      if [ "$PI_STEP" = apply ]; then
        if [ "$PI_FAILS" -gt 0 ]; then
          pi_line "STOP: $PI_FAILS preflight checks failed; nothing was changed"
        else
          pi_deploy
          if [ "$PI_FAILS" -eq 0 ]; then
            pi_each_cluster pi_wait_agent
            pi_each_cluster pi_check_agent
          fi
        fi
      fi
      ;;
    verify) pi_each_cluster pi_check_agent ;;
  esac
  if [ "$PI_FAILS" -gt 0 ]; then
    pi_line "RESULT foundation $PI_STEP: $PI_FAILS checks failed"
    exit 1
  fi
  pi_line "RESULT foundation $PI_STEP: every check passed"
}
