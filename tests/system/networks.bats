#!/usr/bin/env bats
# Networks through the real CLI, inside the network namespace scripts/in-netns made for the
# test run: the default bridge, user networks with their DNS, isolation, --internal, published
# ports (all addresses, 127.0.0.1 only, random, -P), ports already taken, connect/disconnect,
# host and container: modes, a host firewall rule, and the cleanup after a stop, an rm and a
# monitor killed. Traffic goes only to loopback and to addresses in namespaces the run made:
# 192.0.2.1 on a veth stands for the host's address, 192.0.2.2 behind it for another machine.

load container_helpers

setup_file() {
  container_setup_file
  # "The host's address" (192.0.2.1) on one end of a veth pair; the other end (192.0.2.2) is
  # another machine: a second namespace, for traffic that reaches published ports from outside.
  export CLIENT_NS=berth-client-$$
  ip netns add "$CLIENT_NS"
  ip link add berth-host type veth peer name berth-client netns "$CLIENT_NS"
  ip addr add 192.0.2.1/24 dev berth-host
  ip link set berth-host up
  ip -n "$CLIENT_NS" addr add 192.0.2.2/24 dev berth-client
  ip -n "$CLIENT_NS" link set berth-client up
  ip -n "$CLIENT_NS" link set lo up
}
teardown_file() {
  ip netns del "$CLIENT_NS" 2>/dev/null || true
  ip link del berth-host 2>/dev/null || true
}
setup() { container_setup; }
teardown() {
  [ -z "${HOST_HTTPD:-}" ] || kill "$HOST_HTTPD" 2>/dev/null || true
  container_teardown
}

# A busybox httpd serving "hello from NAME" on port 80 in a detached container.
run_web() {
  local name=$1
  shift
  berth run -d --name "$name" "$@" busybox sh -c \
    "mkdir -p /www && echo hello from $name > /www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
}

# fetch URL: the body, from the host side (busybox wget, 3 s timeout).
fetch() { timeout 3 busybox wget -q -O - "$1"; }
# remote_fetch URL: the same from the other machine.
remote_fetch() { timeout 3 nsenter --net="/var/run/netns/$CLIENT_NS" busybox wget -q -O - "$1"; }

rules() { nft list table ip berth 2>/dev/null || true; }

@test "network ls lists bridge, host and none; the default bridge is 10.88.0.0/16 on berth0" {
  run berth network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
  assert_success
  assert_output $'bridge bridge local\nhost host local\nnone null local'
  run jq -r '.[0].IPAM.Config[0] | "\(.Subnet) \(.Gateway)"' <<<"$(berth network inspect bridge)"
  assert_output '10.88.0.0/16 10.88.0.1'
}

@test "a container on the default bridge has eth0 with an address, a default route, and reaches the host" {
  run berth run --rm busybox sh -c 'ip -4 -o addr show eth0; ip route'
  assert_success
  assert_output --regexp 'eth0 +inet 10\.88\.0\.[0-9]+/16'
  assert_output --partial 'default via 10.88.0.1 dev eth0'
  busybox httpd -f -p 192.0.2.1:8181 -h /etc & HOST_HTTPD=$!
  run berth run --rm busybox timeout 3 wget -q -O /dev/null http://192.0.2.1:8181/hostname
  assert_success
}

@test "network create/inspect/rm with --subnet, --gateway, --ip-range and labels" {
  run berth network create --subnet 10.123.0.0/16 --gateway 10.123.0.254 --ip-range 10.123.5.0/24 --label team=a front
  assert_success
  [ ${#output} -eq 64 ]
  run jq -r '.[0] | "\(.Name) \(.Driver) \(.Internal) \(.Labels.team) \(.IPAM.Config[0].IPRange)"' <<<"$(berth network inspect front)"
  assert_output 'front bridge false a 10.123.5.0/24'
  run berth run --rm --network front busybox ip -4 -o addr show eth0
  assert_output --regexp 'inet 10\.123\.5\.[0-9]+/16'
  run berth network ls -q --filter label=team=a
  [ "$output" = "${output:0:12}" ]
  run berth network rm front
  assert_output front
  run berth network inspect front
  [ "$status" -eq 1 ]
  assert_output --partial 'network front not found'
}

@test "bad input: overlapping subnet, invalid address, unknown network; nothing is left configured" {
  berth network create --subnet 10.124.0.0/16 one >/dev/null
  run berth network create --subnet 10.124.8.0/24 two
  [ "$status" -eq 1 ]
  assert_output --partial 'overlaps with network "one"'
  run berth network create --subnet 10.124.300.0/24 three
  [ "$status" -eq 1 ]
  assert_output --partial '10.124.300.0/24'
  run berth network create --subnet 10.125.0.0/16 --gateway 10.126.0.1 four
  [ "$status" -eq 1 ]
  run berth run --network nosuch busybox true
  [ "$status" -eq 125 ]
  assert_output --partial 'network nosuch not found'
  [ "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM containers')" = 0 ]
  [ "$(sqlite3 "$ROOT/berth.db" "SELECT group_concat(name) FROM networks WHERE name != 'bridge'")" = one ]
  run berth run --ip 10.88.0.9 busybox true
  [ "$status" -eq 125 ]
  assert_output --partial 'user defined networks only'
}

@test "containers on a user network resolve each other by name and alias; other networks cannot reach them" {
  berth network create app >/dev/null
  berth network create other >/dev/null
  run_web web --network app --network-alias api
  run berth run --rm --network app busybox sh -c 'timeout 3 wget -q -O - http://web/ && timeout 3 wget -q -O - http://api/ && cat /etc/resolv.conf'
  assert_success
  assert_line 'hello from web'
  assert_line --regexp '^nameserver 10\.89\.[0-9]+\.1$'
  run berth run --rm --network app busybox nslookup nosuchname.invalid
  [ "$status" -ne 0 ]
  ip=$(berth inspect -f '{{.NetworkSettings.Networks.app.IPAddress}}' web)
  run berth run --rm --network other busybox timeout 2 wget -q -O - "http://$ip/"
  [ "$status" -ne 0 ]
  run berth run --rm --network other busybox nslookup web
  [ "$status" -ne 0 ]
  run berth run --rm busybox timeout 2 wget -q -O - "http://$ip/"
  [ "$status" -ne 0 ]
}

@test "an --internal network has no route out but its containers reach each other" {
  berth network create --internal private >/dev/null
  run_web db --network private
  busybox httpd -f -p 192.0.2.1:8182 -h /etc & HOST_HTTPD=$!
  run berth run --rm --network private busybox sh -c 'ip route; timeout 3 wget -q -O - http://db/'
  assert_success
  refute_output --partial default
  assert_line 'hello from db'
  run berth run --rm --network private busybox timeout 2 wget -q -O /dev/null http://192.0.2.1:8182/hostname
  [ "$status" -ne 0 ]
}

@test "published ports: all addresses, 127.0.0.1 only, random, -P; port shows them; hairpin" {
  run_web pub -p 8080:80 -p 127.0.0.1:8081:80 -p 80 --expose 81 -P
  run fetch http://127.0.0.1:8080/
  assert_output 'hello from pub'
  run fetch http://192.0.2.1:8080/
  assert_output 'hello from pub'
  run fetch http://127.0.0.1:8081/
  assert_output 'hello from pub'
  run fetch http://192.0.2.1:8081/
  [ "$status" -ne 0 ]
  run remote_fetch http://192.0.2.1:8080/
  assert_output 'hello from pub'
  run remote_fetch http://192.0.2.1:8081/
  [ "$status" -ne 0 ]
  run berth port pub 80
  assert_line '0.0.0.0:8080'
  assert_line '127.0.0.1:8081'
  random=$(berth port pub 80 | grep -v -e ':8080$' -e ':8081$' | head -n1)
  [ -n "$random" ]
  run fetch "http://127.0.0.1:${random##*:}/"
  assert_output 'hello from pub'
  run berth port pub
  assert_line --regexp '^81/tcp -> 0\.0\.0\.0:[0-9]+$'
  run berth ps --format '{{.Ports}}'
  assert_output --partial '0.0.0.0:8080->80/tcp'
  assert_output --partial '127.0.0.1:8081->80/tcp'
  # The container reaches its own published port through the host's address (hairpin).
  run berth exec pub timeout 3 wget -q -O - http://192.0.2.1:8080/
  assert_output 'hello from pub'
}

@test "a host port already in use is refused, the container stays created, nothing is published" {
  busybox nc -l -p 8090 >/dev/null & HOST_HTTPD=$!
  sleep 0.2
  run berth run -d --name clash -p 8090:80 busybox sleep 30
  [ "$status" -eq 125 ]
  assert_output --partial 'Bind for 0.0.0.0:8090 failed: port is already allocated'
  [ "$(state_of clash)" = created ]
  run_web first -p 8091:80
  run berth run -d --name second -p 8091:80 busybox sleep 30
  [ "$status" -eq 125 ]
  assert_output --partial 'port is already allocated'
  [ "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM network_endpoints')" = 1 ]
  id=$(berth inspect -f '{{.Id}}' second)
  refute [ -n "$(rules | grep "c:$id")" ]
}

@test "stop and rm remove the port rules, the veth and the address; a killed monitor is cleaned up by the next command" {
  run_web gone -p 8092:80
  id=$(berth inspect -f '{{.Id}}' gone)
  veth=vb${id:0:12}0
  ip link show "$veth" >/dev/null
  rules | grep -q "c:$id"
  berth stop -t 1 gone >/dev/null
  run ip link show "$veth"
  [ "$status" -ne 0 ]
  run rules
  refute_output --partial "c:$id"
  [ "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM network_endpoints')" = 0 ]
  berth start gone >/dev/null
  wait_for fetch http://127.0.0.1:8092/
  monitor=$(berth inspect -f '{{.State.Pid}}' gone)
  kill -9 "$(pgrep -f -- "monitor $ROOT .* $id")"
  kill -9 "$monitor"
  run berth ps -a --format '{{.Names}} {{.Status}}'
  assert_output --regexp '^gone Exited \(255\)'
  run rules
  refute_output --partial "c:$id"
  [ "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM network_endpoints')" = 0 ]
  run fetch http://127.0.0.1:8092/
  [ "$status" -ne 0 ]
}

@test "a host firewall rule dropping forwarded traffic to a container is honoured" {
  run_web guarded -p 8093:80
  wait_for remote_fetch http://192.0.2.1:8093/
  nft add table inet hostfw
  nft 'add chain inet hostfw forward { type filter hook forward priority 0; policy accept; }'
  nft add rule inet hostfw forward ip daddr 10.88.0.0/16 tcp dport 80 drop
  run remote_fetch http://192.0.2.1:8093/
  nft delete table inet hostfw
  [ "$status" -ne 0 ]
  run remote_fetch http://192.0.2.1:8093/
  assert_output 'hello from guarded'
}

@test "network connect and disconnect a running container" {
  berth network create back >/dev/null
  run_web api --network back
  api=$(berth inspect -f '{{.NetworkSettings.Networks.back.IPAddress}}' api)
  berth run -d --name client busybox sleep 60 >/dev/null
  run berth exec client timeout 2 wget -q -O - "http://$api/"
  [ "$status" -ne 0 ]
  berth network connect --alias cli back client
  run berth exec client sh -c "ip -4 -o addr show eth1; timeout 3 wget -q -O - http://$api/"
  assert_success
  assert_output --partial 'hello from api'
  run jq -r '.[0].NetworkSettings.Networks | keys | join(",")' <<<"$(berth inspect client)"
  assert_output back,bridge
  # The network's DNS knows the connected container by name and alias.
  run berth exec api nslookup cli
  assert_success
  run berth network rm back
  [ "$status" -eq 1 ]
  assert_output --partial 'has active endpoints'
  berth network disconnect back client
  run berth exec client ip link show eth1
  [ "$status" -ne 0 ]
  run berth exec api nslookup cli
  [ "$status" -ne 0 ]
}

@test "--network host, none and container:NAME; --dns, --dns-search, --add-host and --hostname" {
  run berth run --rm --network host busybox ip -4 -o addr show berth-host
  assert_output --partial '192.0.2.1/24'
  run berth run --rm --network none busybox ip -o link
  refute_output --partial eth0
  berth run -d --name holder busybox sleep 60 >/dev/null
  ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' holder)
  run berth run --rm --network container:holder busybox ip -4 -o addr show eth0
  assert_output --partial "$ip/16"
  run berth run --rm --dns 192.0.2.53 --dns-search example.test --add-host db.local:192.0.2.7 -h box busybox \
    sh -c 'cat /etc/resolv.conf /etc/hosts; hostname'
  assert_line 'nameserver 192.0.2.53'
  assert_line 'search example.test'
  assert_line --regexp '^192\.0\.2\.7[[:space:]]+db\.local$'
  assert_line --regexp '^10\.88\.[0-9.]+[[:space:]]+box$'
  assert_line box
  run berth run --network host -p 80:80 busybox true
  [ "$status" -eq 0 ]
  run berth run --network none -p 80:80 busybox true
  [ "$status" -eq 125 ]
  assert_output --partial 'conflicting options'
}
