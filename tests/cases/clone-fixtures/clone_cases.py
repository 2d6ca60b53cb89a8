import os, sys, copy, json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import *

NS = 'vms'
STORAGE = [sc('zfs', 'zfs.csi.openebs.io'), sc('hostpath', 'openebs.io/local', default=True),
           sc('lvm', 'local.csi.openebs.io'), sc('mystery', 'example.com/mystery-csi'),
           vsc('zfs-snap', 'zfs.csi.openebs.io'), vsc('lvm-snap', 'local.csi.openebs.io'),
           vsc('mystery-snap', 'example.com/mystery-csi')]

def clone(name='c1', src='src-vm', tgt='dst-vm', skind='VirtualMachine', sgroup='kubevirt.io',
          version='v1beta1', ns=NS, **extra):
    spec = {'source': {'apiGroup': sgroup, 'kind': skind, 'name': src}}
    if tgt is not None:
        spec['target'] = {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': tgt}
    spec.update(extra)
    return {'apiVersion': 'clone.kubevirt.io/' + version, 'kind': 'VirtualMachineClone',
            'metadata': {'name': name, 'namespace': ns}, 'spec': spec}

def rv(obj, op='CREATE', old=None, uid=None):
    ver = obj.get('apiVersion', 'clone.kubevirt.io/v1beta1').split('/')[-1]
    return review(obj, 'VirtualMachineClone', 'clone.kubevirt.io', ver, 'virtualmachineclones',
                  op=op, old=old, uid=uid)

def zfs_vm(name='src-vm', run='Halted', **kw):
    return [vm(name, NS, [('root', 'pvc', name + '-root')], run=run, **kw),
            pvc(name + '-root', NS, 'zfs', '20Gi')]

def hostpath_vm(name='src-vm', run='Halted', **kw):
    return [vm(name, NS, [('root', 'pvc', name + '-root')], run=run, **kw),
            pvc(name + '-root', NS, 'hostpath', '20Gi')]

def lvm_vm(name='src-vm', run='Halted', **kw):
    return [vm(name, NS, [('root', 'dv', name + '-root')], run=run, **kw),
            pvc(name + '-root', NS, 'lvm', '8Gi', mode='Block')]

ALL_CLONE_RULES = ['clone-spec', 'clone-source-exists', 'clone-target-free', 'clone-strategy',
                   'clone-fallback-source-stopped', 'clone-fallback-disabled']

def ok(extra=None, **kw):
    e = {'allowed': True}
    e.update(kw)
    return e

def denied(code, frags, **kw):
    e = {'allowed': False, 'code': code, 'message_contains': frags}
    e.update(kw)
    return e

G = 'clone-spec'
base = STORAGE + zfs_vm()
write_case(G, 'valid-v1beta1', rv(clone()), base,
           ok(no_warnings=True, rules={'clone-spec': 'pass', 'clone-source-exists': 'pass',
                                       'clone-target-free': 'pass', 'clone-strategy': 'pass'}))
write_case(G, 'valid-v1alpha1', rv(clone(version='v1alpha1')), base,
           ok(no_warnings=True, rules={'clone-spec': 'pass', 'clone-strategy': 'pass'},
              annotations={'clone-strategy': 'snapshot'}))
# the user guide's manifest, unmodified: its MAC "00-11-22" is malformed for KubeVirt
ug = yaml.safe_load(open(SHARED + '/reference/kubevirt-examples/ug-vmclone-testclone.yaml'))
ug['metadata']['namespace'] = NS
cirros = yaml.safe_load(open(SHARED + '/reference/kubevirt-examples/vm-cirros.yaml').read().split('---', 1)[1])
cirros['metadata']['namespace'] = NS
write_case(G, 'upstream-user-guide-testclone', rv(ug), STORAGE + [cirros],
           denied(422, ['interface interfaceName has malformed MAC address (00-11-22)'], reason='Invalid',
                  causes_fields=['spec.newMacAddresses.interfaceName'], rules={'clone-spec': 'fail'}),
           note='source: kubevirt/kubevirt examples/vm-cirros.yaml; the review carries\n'
                'kubevirt/user-guide docs/storage/clone_api.md unmodified (namespace added)')
ug2 = copy.deepcopy(ug)
ug2['spec']['newMacAddresses'] = {'interfaceName': '02:11:22:33:44:55'}
write_case(G, 'upstream-user-guide-testclone-valid-mac', rv(ug2), STORAGE + [cirros],
           ok(no_warnings=True, rules={'clone-spec': 'pass', 'clone-strategy': 'pass'},
              annotations={'clone-strategy': 'snapshot'}),
           note='the user guide manifest with a valid MAC: a containerDisk VM clones by snapshot')
write_case(G, 'source-kind-unsupported', rv(clone(skind='VirtualMachineInstance')), base,
           denied(422, ['Source kind is not supported'], causes_fields=['spec.source.kind'],
                  rules={'clone-spec': 'fail', 'clone-source-exists': 'skip'}))
write_case(G, 'source-apigroup-empty', rv(clone(sgroup='')), base,
           denied(422, ["Source's APIGroup cannot be empty"], causes_fields=['spec.source.apiGroup']))
c = clone(); del c['spec']['source']['apiGroup']
write_case(G, 'source-apigroup-missing', rv(c), base,
           denied(422, ["Source's APIGroup cannot be empty"], causes_fields=['spec.source.apiGroup']))
write_case(G, 'source-apigroup-mismatch', rv(clone(sgroup='snapshot.kubevirt.io')), base,
           denied(422, ['a VirtualMachine source has apiGroup kubevirt.io'], causes_fields=['spec.source.apiGroup']))
write_case(G, 'source-name-empty', rv(clone(src='')), base,
           denied(422, ["Source's name cannot be empty"], causes_fields=['spec.source.name']))
c = clone(); del c['spec']['source']
write_case(G, 'source-missing', rv(c), base,
           denied(422, ['Source cannot be nil'], causes_fields=['spec.source']))
c = clone(); c['spec']['source'] = 'src-vm'
write_case(G, 'source-not-an-object', rv(c), base,
           denied(422, ['spec.source: must be an object'], causes_fields=['spec.source']))
c = clone(); c['spec']['target']['kind'] = 'VirtualMachineSnapshot'
write_case(G, 'target-kind-unsupported', rv(c), base,
           denied(422, ['Target kind is not supported'], causes_fields=['spec.target.kind']))
write_case(G, 'target-equals-source', rv(clone(tgt='src-vm')), base,
           denied(422, ['Target name cannot be equal to source name'], causes_fields=['spec.target.name']))
write_case(G, 'filter-negation-inside', rv(clone(labelFilters=['*', 'app!x'])), base,
           denied(422, ['spec.labels filter app!x is invalid: cannot contain a negation character'],
                  causes_fields=['spec.labels']))
write_case(G, 'filter-wildcard-inside', rv(clone(annotationFilters=['a*b'])), base,
           denied(422, ['spec.annotations filter a*b is invalid: cannot contain a wildcard character'],
                  causes_fields=['spec.annotations']))
write_case(G, 'template-filter-lone-negation', rv(clone(template={'labelFilters': ['!']})), base,
           denied(422, ['a negation character is not a valid filter'], causes_fields=['spec.template.labels']))
write_case(G, 'filters-kubevirt-syntax-ok',
           rv(clone(labelFilters=['*', '!someKey/*'], annotationFilters=['anotherKey/*'],
                    template={'labelFilters': ['*', '!kubevirt.io/domain'], 'annotationFilters': ['!*']})),
           base, ok(no_warnings=True, rules={'clone-spec': 'pass'}))
write_case(G, 'mac-formats-accepted',
           rv(clone(newMacAddresses={'a': '02:00:00:00:00:01', 'b': '02-00-00-00-00-02', 'c': '0200.0000.0003', 'd': ''})),
           base, ok(rules={'clone-spec': 'pass'}))
write_case(G, 'mac-eui64-refused', rv(clone(newMacAddresses={'default': '02:00:00:00:00:00:00:01'})), base,
           denied(422, ['interface default has malformed MAC address (02:00:00:00:00:00:00:01)'],
                  causes_fields=['spec.newMacAddresses.default']))
write_case(G, 'patch-not-json', rv(clone(patches=['{"op": "add", "path": '])), base,
           denied(422, ['spec.patches[0]: not a JSON patch operation'], causes_fields=['spec.patches[0]']))
write_case(G, 'patch-unknown-op', rv(clone(patches=['{"op": "merge", "path": "/spec/x", "value": 1}'])), base,
           denied(422, ["unknown op 'merge'"], causes_fields=['spec.patches[0]']))
write_case(G, 'patch-path-outside-spec',
           rv(clone(patches=['{"op": "replace", "path": "/metadata/name", "value": "other"}'])), base,
           denied(422, ['KubeVirt patches only /spec/'], causes_fields=['spec.patches[0]']))
write_case(G, 'patch-does-not-apply',
           rv(clone(patches=['{"op": "add", "path": "/spec/template/metadata/labels/x", "value": "y"}',
                             '{"op": "remove", "path": "/spec/template/spec/nodeSelector"}'])), base,
           denied(422, ['spec.patches do not apply to the target VM',
                        "operation 1: path '/spec/template/spec/nodeSelector' does not exist"],
                  causes_fields=['spec.patches'], rules={'clone-spec': 'fail'}))
write_case(G, 'patches-apply',
           rv(clone(patches=['{"op": "add", "path": "/spec/template/metadata/labels/role", "value": "copy"}',
                             '{"op": "replace", "path": "/spec/template/spec/domain/memory/guest", "value": "2Gi"}'])),
           base, ok(rules={'clone-spec': 'pass'}))
c = clone(); del c['spec']
write_case(G, 'spec-missing', rv(c), base, denied(422, ['spec is required'], causes_fields=['spec']))
old = clone(); new = clone(); new['metadata']['labels'] = {'x': 'y'}
write_case(G, 'update-same-spec-not-blocked', rv(new, op='UPDATE', old=old), [],
           ok(rules={'clone-spec': 'skip', 'clone-source-exists': 'skip'}),
           note='UPDATE that keeps the spec (a controller adding labels or finalizers): never blocked')
bad = clone(tgt='src-vm'); bad2 = copy.deepcopy(bad); bad2['metadata']['finalizers'] = ['x']
write_case(G, 'update-same-invalid-spec-not-blocked', rv(bad2, op='UPDATE', old=bad), [],
           ok(rules={'clone-spec': 'skip'}),
           note='a clone created before kvguard with a spec kvguard refuses: its finalizers can still be removed')
new2 = clone(); new2['spec']['labelFilters'] = ['app']
write_case(G, 'update-spec-change-checked', rv(new2, op='UPDATE', old=old), [],
           ok(rules={'clone-spec': 'pass', 'clone-source-exists': 'skip'}),
           note='UPDATE that changes the spec: KubeVirt\'s checks run; lookups do not (the target exists after cloning)')
badold = clone(tgt='src-vm')
write_case(G, 'update-invalid', rv(badold, op='UPDATE', old=clone()), [],
           denied(422, ['Target name cannot be equal to source name']))
write_case(G, 'action-warn', rv(clone(tgt='src-vm')), base,
           ok(warnings_contain=['clone-spec', 'Target name cannot be equal to source name']),
           config={'policy': {'rules': {'clone-spec': 'warn'}}})
write_case(G, 'action-off', rv(clone(tgt='src-vm')), base,
           ok(rules={'clone-spec': 'skip'}), config={'policy': {'rules': {'clone-spec': 'off'}}})
write_case(G, 'several-problems', rv(clone(src='', sgroup='', labelFilters=['!'])), base,
           denied(422, ['(and more: see details.causes)'],
                  causes_fields=['spec.labels', 'spec.source.apiGroup', 'spec.source.name']))

G = 'clone-source-exists'
write_case(G, 'vm-missing', rv(clone(src='ghost')), STORAGE,
           denied(403, ['source VirtualMachine vms/ghost does not exist'],
                  rules={'clone-source-exists': 'fail', 'clone-strategy': 'skip'}))
write_case(G, 'vm-exists', rv(clone()), base, ok(rules={'clone-source-exists': 'pass'}))
SNAP_VM = vm('src-vm', NS, [('root', 'pvc', 'src-vm-root'), ('data', 'dv', 'src-vm-data')])
def snapshot(name='snap1', ready=True, content='vmsnapshot-content-1', phase='Succeeded'):
    o = {'apiVersion': 'snapshot.kubevirt.io/v1beta1', 'kind': 'VirtualMachineSnapshot',
         'metadata': {'name': name, 'namespace': NS, 'uid': 'uid-snap-' + name},
         'spec': {'source': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': 'src-vm'}},
         'status': {'readyToUse': ready, 'phase': phase, 'sourceUID': 'uid-vm-src-vm'}}
    if content:
        o['status']['virtualMachineSnapshotContentName'] = content
    return o
def content(name='vmsnapshot-content-1', backups=('root', 'data'), sc_of=None, owner_ref=True, spec_name=True):
    sc_of = sc_of or {}
    claims = {'root': 'src-vm-root', 'data': 'src-vm-data'}
    o = {'apiVersion': 'snapshot.kubevirt.io/v1beta1', 'kind': 'VirtualMachineSnapshotContent',
         'metadata': {'name': name, 'namespace': NS},
         'spec': {'source': {'virtualMachine': {'metadata': {'name': 'src-vm', 'namespace': NS},
                                                'spec': SNAP_VM['spec']}},
                  'volumeBackups': [{'volumeName': b, 'volumeSnapshotName': 'vmsnapshot-x-volume-' + b,
                                     'persistentVolumeClaim': {'metadata': {'name': claims[b]},
                                                               'spec': {'storageClassName': sc_of.get(b, 'zfs'),
                                                                        'resources': {'requests': {'storage': '10Gi'}}}}}
                                    for b in backups]},
         'status': {'readyToUse': True}}
    if spec_name:
        o['spec']['virtualMachineSnapshotName'] = 'snap1'
    if owner_ref:
        o['metadata']['ownerReferences'] = [{'apiVersion': 'snapshot.kubevirt.io/v1beta1',
                                             'kind': 'VirtualMachineSnapshot', 'name': 'snap1', 'uid': 'uid-snap-snap1'}]
    return o
SNAPSRC = dict(skind='VirtualMachineSnapshot', sgroup='snapshot.kubevirt.io', src='snap1')
write_case(G, 'snapshot-ready-with-backups', rv(clone(**SNAPSRC)), STORAGE + [snapshot(), content()],
           ok(no_warnings=True, rules={'clone-source-exists': 'pass', 'clone-strategy': 'pass',
                                       'clone-fallback-disabled': 'skip'},
              annotations={'clone-strategy': 'snapshot'}))
write_case(G, 'snapshot-missing', rv(clone(**SNAPSRC)), STORAGE,
           denied(403, ['source VirtualMachineSnapshot vms/snap1 does not exist']))
write_case(G, 'snapshot-not-ready', rv(clone(**SNAPSRC)),
           STORAGE + [snapshot(ready=False, phase='InProgress'), content()],
           denied(403, ['is not ready to use (phase InProgress)']))
write_case(G, 'snapshot-missing-volume-backup', rv(clone(**SNAPSRC)),
           STORAGE + [snapshot(), content(backups=('root',))],
           denied(403, ['has no backup of volume data (claim src-vm-data)', 'KubeVirt skipped it']),
           note='KubeVirt skipped the DataVolume disk when it took the snapshot (no VolumeSnapshotClass):\n'
                'a clone from it would silently lack that disk')
write_case(G, 'snapshot-content-missing', rv(clone(**SNAPSRC)), STORAGE + [snapshot()],
           denied(403, ['VirtualMachineSnapshotContent vmsnapshot-content-1 is not in the cluster view'],
                  rules={'clone-source-exists': 'unknown'}))
write_case(G, 'action-warn-vm-missing', rv(clone(src='ghost')), STORAGE,
           ok(warnings_contain=['clone-source-exists']), config={'policy': {'rules': {'clone-source-exists': 'warn'}}})
# a VM whose disk's claim is gone from the view, but whose status says KubeVirt cannot snapshot it:
# the strategy is cdi and the CDI plan cannot find the claim
lost = vm('src-vm', NS, [('root', 'pvc', 'src-vm-root')],
          status={'volumeSnapshotStatuses': [{'name': 'root', 'enabled': False,
                                              'reason': 'No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [hostpath] [root]'}]})
write_case(G, 'cdi-plan-claim-missing', rv(clone()), STORAGE + [lost],
           denied(403, ['cannot be copied with CDI', 'PersistentVolumeClaim vms/src-vm-root is not in the cluster view'],
                  rules={'clone-source-exists': 'fail', 'clone-strategy': 'pass'}))

G = 'clone-target-free'
write_case(G, 'target-exists', rv(clone()), base + [vm('dst-vm', NS, [])],
           denied(403, ['target VirtualMachine vms/dst-vm already exists'], rules={'clone-target-free': 'fail'}))
write_case(G, 'target-free', rv(clone()), base, ok(rules={'clone-target-free': 'pass'}))
write_case(G, 'no-target-generated-name', rv(clone(tgt=None)), base, ok(rules={'clone-target-free': 'pass'}))
write_case(G, 'target-exists-other-namespace', rv(clone()), base + [vm('dst-vm', 'other', [])],
           ok(rules={'clone-target-free': 'pass'}))
write_case(G, 'action-audit', rv(clone()), base + [vm('dst-vm', NS, [])],
           ok(no_warnings=True, rules={'clone-target-free': 'fail'}),
           config={'policy': {'rules': {'clone-target-free': 'audit'}}})

G = 'clone-strategy'
write_case(G, 'snapshot-zfs', rv(clone()), base,
           ok(no_warnings=True, annotations={'clone-strategy': 'snapshot'},
              explain_contains=['VolumeSnapshotClass zfs-snap', 'restore capability of zfs.csi.openebs.io: yes'],
              rules={'clone-strategy': 'pass',
              'clone-fallback-source-stopped': 'skip', 'clone-fallback-disabled': 'skip'}))
write_case(G, 'snapshot-zfs-running', rv(clone()), STORAGE + zfs_vm(run='Always') + [vmi('src-vm', NS)],
           ok(no_warnings=True, annotations={'clone-strategy': 'snapshot'}),
           note='a running VM whose storage snapshots and restores: KubeVirt clones it online')
write_case(G, 'cdi-hostpath', rv(clone()), STORAGE + hostpath_vm(),
           ok(annotations={'clone-strategy': 'cdi'}, explain_contains=['CDI plan: target VM dst-vm with 1 DataVolume(s)'],
              warnings_contain=['VM vms/src-vm will be cloned with CDI host-assisted copy (StorageClass hostpath has no snapshots)'],
              rules={'clone-strategy': 'pass', 'clone-fallback-source-stopped': 'pass', 'clone-fallback-disabled': 'pass'}))
write_case(G, 'cdi-lvm-cannot-restore', rv(clone()), STORAGE + lvm_vm(),
           ok(annotations={'clone-strategy': 'cdi'},
              warnings_contain=['will be cloned with CDI host-assisted copy (StorageClass lvm cannot restore snapshots)']),
           note='LVM LocalPV snapshots but cannot create a volume from a snapshot (thick volumes)')
write_case(G, 'cdi-one-volume-of-two', rv(clone()),
           STORAGE + [vm('src-vm', NS, [('root', 'pvc', 'r'), ('data', 'pvc', 'd')]),
                      pvc('r', NS, 'zfs'), pvc('d', NS, 'hostpath')],
           ok(annotations={'clone-strategy': 'cdi'}, warnings_contain=['StorageClass hostpath has no snapshots']))
write_case(G, 'containerdisk-only', rv(clone()), STORAGE + [vm('src-vm', NS, [('c', 'cd', 'quay.io/containerdisks/fedora:40')])],
           ok(no_warnings=True, annotations={'clone-strategy': 'snapshot'}))
write_case(G, 'ambiguous-vsc-falls-back', rv(clone()),
           STORAGE + [vsc('zfs-snap-2', 'zfs.csi.openebs.io')] + zfs_vm(),
           ok(annotations={'clone-strategy': 'cdi'}, warnings_contain=['StorageClass zfs has no snapshots']),
           note='two VolumeSnapshotClasses for the driver and none marked default: KubeVirt cannot pick one')
write_case(G, 'unknown-claim-denied', rv(clone()), STORAGE + [vm('src-vm', NS, [('root', 'pvc', 'gone')])],
           denied(403, ['cannot tell whether volume root', "kvguard refuses to pick a clone method it cannot verify"],
                  rules={'clone-strategy': 'unknown'}),
           config={'policy': {'rules': {'clone-strategy': 'enforce'}}},
           note='the claim is not in the view and the VM status says nothing: snapshot support unknown')
write_case(G, 'unknown-restore-capability-denied', rv(clone()),
           STORAGE + [vm('src-vm', NS, [('root', 'pvc', 'm')]), pvc('m', NS, 'mystery')],
           denied(403, ['cannot tell whether provisioner example.com/mystery-csi', 'capability overrides']),
           config={'policy': {'rules': {'clone-strategy': 'enforce'}}})
write_case(G, 'capability-override-restore', rv(clone()),
           STORAGE + [vm('src-vm', NS, [('root', 'pvc', 'm')]), pvc('m', NS, 'mystery')],
           ok(no_warnings=True, annotations={'clone-strategy': 'snapshot'}),
           config={'policy': {'rules': {'clone-strategy': 'enforce'},
                              'capabilities': {'provisioners': {'example.com/mystery-csi': {'restore': True}}}}})
write_case(G, 'capability-override-lvm-thin', rv(clone()), STORAGE + lvm_vm(),
           ok(no_warnings=True, annotations={'clone-strategy': 'snapshot'}),
           config={'policy': {'capabilities': {'storageClasses': {'lvm': {'restore': True}}}}},
           note='thin LVM volumes restore on OpenEBS >= 4.4: the operator says so per StorageClass')
sp = {'apiVersion': 'cdi.kubevirt.io/v1beta1', 'kind': 'StorageProfile', 'metadata': {'name': 'hostpath'},
      'status': {'storageClass': 'hostpath', 'provisioner': 'openebs.io/local', 'snapshotClass': 'zfs-snap'}}
rhel = yaml.safe_load(open(SHARED + '/reference/cdi-examples/kubevirt-user-guide-templates-rheltinyvm-pvc-clone.yaml'))['items'][0]
rhel['metadata']['namespace'] = NS
write_case(G, 'upstream-rheltinyvm-cdi', rv(clone(src='rheltinyvm', tgt='rheltinyvm-2')),
           STORAGE + [rhel, pvc('rheltinyvm', NS, 'hostpath', '30Gi', access=('ReadWriteMany',))],
           ok(annotations={'clone-strategy': 'cdi'}, warnings_contain=['VM vms/rheltinyvm will be cloned with CDI']),
           note='source: kubevirt/user-guide docs/user_workloads/templates.md rheltinyvm (namespace added);\n'
                'its DataVolume\'s claim is on a StorageClass without snapshots')

G = 'clone-fallback-source-stopped'
write_case(G, 'running-hostpath-denied', rv(clone()), STORAGE + hostpath_vm(run='Always') + [vmi('src-vm', NS)],
           denied(403, ['VM vms/src-vm is running', 'stop VM vms/src-vm, or add a VolumeSnapshotClass for provisioner openebs.io/local'],
                  rules={'clone-fallback-source-stopped': 'fail'}, no_warnings=True))
write_case(G, 'running-lvm-denied', rv(clone()), STORAGE + lvm_vm(run='Always') + [vmi('src-vm', NS)],
           denied(403, ['stop VM vms/src-vm first (provisioner local.csi.openebs.io cannot restore snapshots']))
write_case(G, 'running-true-starting', rv(clone()), STORAGE + hostpath_vm(running=True),
           denied(403, ['VM vms/src-vm is running']),
           note='running: true with no VMI yet: the VM is starting, which counts as on')
write_case(G, 'manual-vmi-running', rv(clone()), STORAGE + hostpath_vm(run='Manual') + [vmi('src-vm', NS)],
           denied(403, ['VM vms/src-vm is running']))
write_case(G, 'manual-vmi-succeeded', rv(clone()), STORAGE + hostpath_vm(run='Manual') + [vmi('src-vm', NS, phase='Succeeded')],
           ok(rules={'clone-fallback-source-stopped': 'pass'}, warnings_contain=['CDI host-assisted copy']))
write_case(G, 'stopped-allowed', rv(clone()), STORAGE + hostpath_vm(),
           ok(rules={'clone-fallback-source-stopped': 'pass'}))
write_case(G, 'running-but-snapshot-strategy', rv(clone()), STORAGE + zfs_vm(run='Always') + [vmi('src-vm', NS)],
           ok(rules={'clone-fallback-source-stopped': 'skip'}, no_warnings=True))
write_case(G, 'action-warn', rv(clone()), STORAGE + hostpath_vm(run='Always') + [vmi('src-vm', NS)],
           ok(warnings_contain=['clone-fallback-source-stopped', 'CDI host-assisted copy']),
           config={'policy': {'rules': {'clone-fallback-source-stopped': 'warn'}}})

G = 'clone-fallback-disabled'
write_case(G, 'fallback-off-denied', rv(clone()), STORAGE + hostpath_vm(),
           denied(403, ['the CDI fallback is disabled', 'add a VolumeSnapshotClass for provisioner openebs.io/local'],
                  rules={'clone-fallback-disabled': 'fail'}, no_warnings=True),
           config={'policy': {'cloneFallback': {'enabled': False}}})
write_case(G, 'fallback-off-snapshot-strategy', rv(clone()), base,
           ok(rules={'clone-fallback-disabled': 'skip'}), config={'policy': {'cloneFallback': {'enabled': False}}})
write_case(G, 'snapshot-source-not-restorable', rv(clone(**SNAPSRC)),
           STORAGE + [snapshot(), content(sc_of={'root': 'lvm', 'data': 'lvm'})],
           denied(403, ['VirtualMachineSnapshot vms/snap1 cannot be cloned', 'provisioner local.csi.openebs.io'],
                  rules={'clone-fallback-disabled': 'fail', 'clone-fallback-source-stopped': 'skip'}))
write_case(G, 'fallback-on', rv(clone()), STORAGE + hostpath_vm(), ok(rules={'clone-fallback-disabled': 'pass'}))
write_case(G, 'action-off', rv(clone()), STORAGE + hostpath_vm(),
           ok(rules={'clone-fallback-disabled': 'skip'}),
           config={'policy': {'cloneFallback': {'enabled': False}, 'rules': {'clone-fallback-disabled': 'off'}}})

G = 'clone-mutate'
def mut(obj, uid='7b3c1e2a-0000-4000-8000-000000000001'):
    return rv(obj, uid=uid)
write_case(G, 'strategy-annotation-snapshot', mut(clone()), base,
           ok(mutate=True, annotations={'clone-strategy': 'snapshot'},
              patch=[{'op': 'add', 'path': '/metadata/annotations',
                      'value': {'kvguard.io/clone-strategy': 'snapshot'}}]))
c = clone(); c['metadata']['annotations'] = {'team': 'a'}
write_case(G, 'strategy-annotation-cdi', mut(c), STORAGE + hostpath_vm(),
           ok(mutate=True, patch=[{'op': 'add', 'path': '/metadata/annotations/kvguard.io~1clone-strategy', 'value': 'cdi'}]))
c = clone(); c['metadata']['annotations'] = {'kvguard.io/clone-strategy': 'cdi'}
write_case(G, 'reinvocation-no-patch', mut(c), STORAGE + hostpath_vm(), ok(mutate=True, patch=None))
c = clone(); c['metadata']['annotations'] = {'kvguard.io/clone-strategy': 'cdi'}
write_case(G, 'stale-strategy-replaced', mut(c), base,
           ok(mutate=True, patch=[{'op': 'replace', 'path': '/metadata/annotations/kvguard.io~1clone-strategy', 'value': 'snapshot'}]))
write_case(G, 'no-target-generated', mut(clone(tgt=None)), base,
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/target',
                                   'value': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': 'src-vm-clone-xsjxm'}},
                                  {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]))
c = clone(); del c['spec']['target']['name']
write_case(G, 'target-without-name', mut(c), base,
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/target/name', 'value': 'src-vm-clone-xsjxm'},
                                  {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]))
write_case(G, 'vmi-source-to-vm', mut(clone(skind='VirtualMachineInstance')), base + [vmi('src-vm', NS)],
           ok(mutate=True, annotations={'clone-source': 'VirtualMachineInstance/src-vm -> VirtualMachine/src-vm'},
              patch=[{'op': 'replace', 'path': '/spec/source/kind', 'value': 'VirtualMachine'},
                     {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]),
           note='seed 001: a running clone starts from a VMI name')
write_case(G, 'vmi-source-not-owned', mut(clone(skind='VirtualMachineInstance', src='lonely')),
           base + [vmi('lonely', NS, owner=False)], ok(mutate=True, patch=None))
write_case(G, 'content-source-to-snapshot',
           mut(clone(skind='VirtualMachineSnapshotContent', sgroup='snapshot.kubevirt.io', src='vmsnapshot-content-1')),
           STORAGE + [snapshot(), content()],
           ok(mutate=True, annotations={'clone-strategy': 'snapshot'},
              patch=[{'op': 'replace', 'path': '/spec/source/kind', 'value': 'VirtualMachineSnapshot'},
                     {'op': 'replace', 'path': '/spec/source/name', 'value': 'snap1'},
                     {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]),
           note='seed 001 clones from a VirtualMachineSnapshotContent name')
c = clone(skind='VirtualMachineSnapshotContent', sgroup='snapshot.kubevirt.io', src='vmsnapshot-content-1')
del c['spec']['source']['apiGroup']
write_case(G, 'content-source-by-owner-reference', mut(c),
           STORAGE + [snapshot(), content(spec_name=False)],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/source/apiGroup', 'value': 'snapshot.kubevirt.io'},
                                  {'op': 'replace', 'path': '/spec/source/kind', 'value': 'VirtualMachineSnapshot'},
                                  {'op': 'replace', 'path': '/spec/source/name', 'value': 'snap1'},
                                  {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]))
write_case(G, 'strategy-unknown-no-annotation', mut(clone()), STORAGE + [vm('src-vm', NS, [('root', 'pvc', 'gone')])],
           ok(mutate=True, patch=None))
write_case(G, 'v1alpha1', mut(clone(version='v1alpha1', tgt=None)), STORAGE + hostpath_vm(),
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/target',
                                   'value': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': 'src-vm-clone-xsjxm'}},
                                  {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'cdi'}}]))
write_case(G, 'upstream-user-guide-testclone', mut(ug), STORAGE + [cirros],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]),
           note='the user guide manifest unmodified: mutation only records the strategy (validation refuses its MAC)')
write_case(G, 'snapshot-source-target-named-after-vm', mut(clone(tgt=None, **SNAPSRC)), STORAGE + [snapshot(), content()],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/target',
                                   'value': {'apiGroup': 'kubevirt.io', 'kind': 'VirtualMachine', 'name': 'src-vm-clone-xsjxm'}},
                                  {'op': 'add', 'path': '/metadata/annotations', 'value': {'kvguard.io/clone-strategy': 'snapshot'}}]),
           note='the generated target name comes from the VM the snapshot saved, as in KubeVirt')
write_case(G, 'update-not-mutated', rv(clone(tgt=None), op='UPDATE', old=clone(tgt=None)), base, ok(mutate=True, patch=None))
print('ok')
G = 'clone-spec'
write_case(G, 'too-many-filters', rv(clone(labelFilters=['app%d(x|y)' % i for i in range(300)])), base,
           denied(422, ['spec.labels: at most 256 filters'], causes_fields=['spec.labels']),
           note='every filter is a regular expression tried on every key: the list is bounded')
write_case(G, 'too-many-patches', rv(clone(patches=['{"op":"test","path":"/spec/x","value":1}'] * 300)), base,
           denied(422, ['spec.patches: at most 256 patches'], causes_fields=['spec.patches']))
write_case(G, 'deeply-nested-patch-value',
           rv(clone(patches=['{"op":"add","path":"/spec/x","value":' + '[' * 40 + ']' * 40 + '}'])), base,
           denied(422, ['spec.patches[0]: not a JSON patch operation'], causes_fields=['spec.patches[0]']))
write_case(G, 'wrong-types',
           rv(clone(newSMBiosSerial=7, newMacAddresses=['x'], labelFilters='app')), base,
           denied(422, ['must be'], causes_fields=['spec.newSMBiosSerial', 'spec.newMacAddresses', 'spec.labels']))
print('ok2')
