#!/usr/bin/env sh
# Create sovscan's read-only account in Keycloak: a confidential service-account client holding
# ONLY realm-management view roles (view-realm, view-clients, view-users, view-events,
# view-identity-providers) - no manage-* role, no realm-admin, not even view-authorization.
#
#   KEYCLOAK_URL=https://sso.example ADMIN_USER=admin ADMIN_PASSWORD=... \
#   SOVSCAN_REALMS="master app-realm other-realm" ./setup-sovscan-reader.sh
#
# Environment:
#   KCADM              path of kcadm.sh (default: kcadm.sh on PATH)
#   KEYCLOAK_URL       server URL; ADMIN_REALM (default master), ADMIN_USER, ADMIN_PASSWORD: an admin login
#   SOVSCAN_AUTH_REALM realm the client lives in (default master: one client reads every realm
#                      listed, through the `<realm>-realm` clients of the master realm; any other
#                      realm: the client reads only that realm, through its realm-management client)
#   SOVSCAN_REALMS     realms to grant (default: the auth realm only)
#   SOVSCAN_CLIENT_ID  client id (default sovscan)
#   SOVSCAN_CLIENT_SECRET  optional: the secret to set (otherwise Keycloak generates one; read it
#                      with `kcadm.sh get clients/<id>/client-secret` and store it, e.g. in OpenBao)
# kcadm's login state goes to a temporary config file that is removed at the end.
set -eu
KCADM="${KCADM:-kcadm.sh}"
: "${KEYCLOAK_URL:?set KEYCLOAK_URL}" "${ADMIN_USER:?set ADMIN_USER}" "${ADMIN_PASSWORD:?set ADMIN_PASSWORD}"
AUTH_REALM="${SOVSCAN_AUTH_REALM:-master}"
REALMS="${SOVSCAN_REALMS:-$AUTH_REALM}"
CLIENT_ID="${SOVSCAN_CLIENT_ID:-sovscan}"
VIEW_ROLES="view-realm view-clients view-users view-events view-identity-providers"

CONFIG="$(mktemp)"
trap 'rm -f "$CONFIG"' EXIT
kc() { "$KCADM" "$@" --config "$CONFIG"; }

kc config credentials --server "$KEYCLOAK_URL" --realm "${ADMIN_REALM:-master}" \
  --user "$ADMIN_USER" --password "$ADMIN_PASSWORD" >/dev/null

set -- -s "clientId=$CLIENT_ID" -s enabled=true -s publicClient=false -s serviceAccountsEnabled=true \
  -s standardFlowEnabled=false -s implicitFlowEnabled=false -s directAccessGrantsEnabled=false \
  -s 'description=sovscan compliance scanner (read-only: view roles only)'
if [ -n "${SOVSCAN_CLIENT_SECRET:-}" ]; then set -- "$@" -s "secret=$SOVSCAN_CLIENT_SECRET"; fi
kc create clients -r "$AUTH_REALM" "$@" >/dev/null

role_args=""
for role in $VIEW_ROLES; do role_args="$role_args --rolename $role"; done
for realm in $REALMS; do
  if [ "$AUTH_REALM" = "master" ]; then
    # in the master realm, realm R's admin roles are roles of the client "R-realm"
    # shellcheck disable=SC2086
    kc add-roles -r master --uusername "service-account-$CLIENT_ID" --cclientid "$realm-realm" $role_args
  elif [ "$realm" = "$AUTH_REALM" ]; then
    # shellcheck disable=SC2086
    kc add-roles -r "$AUTH_REALM" --uusername "service-account-$CLIENT_ID" --cclientid realm-management $role_args
  else
    echo "a client in realm $AUTH_REALM can only read $AUTH_REALM; create one per realm or use the master realm" >&2
    exit 1
  fi
done
echo "created client $CLIENT_ID in realm $AUTH_REALM with $VIEW_ROLES on: $REALMS"
