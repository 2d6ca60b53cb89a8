import os, sys, copy
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import *

NS = 'vms'
STORAGE = [sc('zfs', 'zfs.csi.openebs.io'), sc('hostpath', 'openebs.io/local', default=True),
           sc('lvm', 'local.csi.openebs.io'), sc('rook-ceph-block', 'rook-ceph.rbd.csi.ceph.com'),
           vsc('zfs-snap', 'zfs.csi.openebs.io'), vsc('rbd-snap', 'rook-ceph.rbd.csi.ceph.com'),
           vsc('lvm-snap', 'local.csi.openebs.io')]

def dv(name='dv1', src_name='golden', src_ns=NS, api='storage', size='10Gi', mode=None, sc_name=None,
       content=None, ns=NS, snapshot=False):
    src = {'name': src_name}
    if src_ns is not None:
        src['namespace'] = src_ns
    spec = {'source': {'snapshot' if snapshot else 'pvc': src}}
    t = {}
    if api == 'pvc':
        t['accessModes'] = ['ReadWriteOnce']
    if size:
        t['resources'] = {'requests': {'storage': size}}
    if mode:
        t['volumeMode'] = mode
    if sc_name:
        t['storageClassName'] = sc_name
    spec[api] = t
    if content:
        spec['contentType'] = content
    return {'apiVersion': 'cdi.kubevirt.io/v1beta1', 'kind': 'DataVolume',
            'metadata': {'name': name, 'namespace': ns}, 'spec': spec}

def rv(obj, op='CREATE', old=None, uid=None):
    return review(obj, 'DataVolume', 'cdi.kubevirt.io', 'v1beta1', 'datavolumes', op=op, old=old, uid=uid)

def golden(size='10Gi', mode=None, content=None, capacity=None, name='golden', ns=NS, sc_name='zfs', phase='Bound'):
    return pvc(name, ns, sc_name, size, mode=mode, capacity=capacity, phase=phase,
               ann={'cdi.kubevirt.io/storage.contentType': content} if content else None)

def pod(name, claim, phase='Running', ro=False, vmname=None, ns=NS):
    o = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': name, 'namespace': ns},
         'spec': {'containers': [{'name': 'c', 'image': 'x'}],
                  'volumes': [{'name': 'd', 'persistentVolumeClaim': {'claimName': claim, 'readOnly': ro}}]},
         'status': {'phase': phase}}
    if vmname:
        o['metadata']['labels'] = {'kubevirt.io': 'virt-launcher', 'vm.kubevirt.io/name': vmname}
    return o

def ok(**kw):
    e = {'allowed': True}; e.update(kw); return e

def denied(frags, code=403, **kw):
    e = {'allowed': False, 'code': code, 'message_contains': frags}; e.update(kw); return e

base = STORAGE + [golden()]

G = 'datavolume-clone-source'
write_case(G, 'source-exists', rv(dv()), base, ok(no_warnings=True, rules={'datavolume-clone-source': 'pass'}))
write_case(G, 'source-missing-warns', rv(dv(src_name='later')), STORAGE,
           ok(warnings_contain=['datavolume-clone-source', 'source PVC vms/later does not exist yet: CDI waits for it'],
              rules={'datavolume-clone-source': 'fail'}))
write_case(G, 'source-namespace-defaults-to-dv', rv(dv(src_ns=None)), base,
           ok(no_warnings=True, rules={'datavolume-clone-source': 'pass'}))
write_case(G, 'source-in-other-namespace', rv(dv(src_ns='golden-images')), STORAGE + [golden(ns='golden-images')],
           ok(no_warnings=True, rules={'datavolume-clone-source': 'pass'}))
write_case(G, 'action-enforce', rv(dv(src_name='later')), STORAGE,
           denied(['source PVC vms/later does not exist yet']), config={'policy': {'rules': {'datavolume-clone-source': 'enforce'}}})
imp = yaml.safe_load(open(SHARED + '/reference/cdi-examples/cdi-import-kubevirt-datavolume.yaml'))
imp['metadata']['namespace'] = NS
write_case(G, 'upstream-import-not-a-clone', rv(imp), STORAGE,
           ok(no_warnings=True, rules={'datavolume-clone-source': 'skip', 'datavolume-clone-size': 'skip'}),
           note='source: CDI manifests/example/import-kubevirt-datavolume.yaml: an http import, not checked')
blank = yaml.safe_load(open(SHARED + '/reference/cdi-examples/cdi-blank-image-datavolume.yaml'))
blank['metadata']['namespace'] = NS
write_case(G, 'upstream-blank-not-a-clone', rv(blank), STORAGE, ok(no_warnings=True, rules={'datavolume-clone-source': 'skip'}))
up = yaml.safe_load(open(SHARED + '/reference/cdi-examples/cdi-clone-datavolume.yaml'))
up['metadata']['namespace'] = NS
write_case(G, 'upstream-clone-datavolume', rv(up), STORAGE + [golden(name='source-datavolume', ns='source-ns')],
           ok(no_warnings=True, rules={'datavolume-clone-source': 'pass', 'datavolume-clone-size': 'pass'}),
           note='source: CDI manifests/example/clone-datavolume.yaml (namespace added); storage: is null')
write_case(G, 'upstream-clone-datavolume-source-missing', rv(up), STORAGE,
           ok(warnings_contain=['PVC source-ns/source-datavolume'], rules={'datavolume-clone-source': 'fail'}))
write_case(G, 'update-not-checked', rv(dv(src_name='later'), op='UPDATE', old=dv(src_name='later')), STORAGE,
           ok(no_warnings=True, rules={'datavolume-clone-source': 'skip'}))

G = 'datavolume-clone-size'
write_case(G, 'smaller-denied', rv(dv(size='5Gi')), base,
           denied(['requests 5Gi, smaller than source PVC vms/golden (10Gi)', 'request at least 10Gi'],
                  rules={'datavolume-clone-size': 'fail'}))
write_case(G, 'equal-allowed', rv(dv(size='10Gi')), base, ok(rules={'datavolume-clone-size': 'pass'}))
write_case(G, 'units-compared-exactly', rv(dv(size='10737418240')), base, ok(rules={'datavolume-clone-size': 'pass'}),
           note='10Gi == 10737418240 bytes')
write_case(G, 'decimal-units-smaller', rv(dv(size='10G')), base, denied(['requests 10G, smaller than']),
           note='10G (10^10) < 10Gi (2^30 * 10)')
write_case(G, 'decimal-fraction-larger', rv(dv(size='10.8G')), base, ok(rules={'datavolume-clone-size': 'pass'}))
write_case(G, 'pvc-api', rv(dv(api='pvc', size='1Ti')), base, ok(rules={'datavolume-clone-size': 'pass'}))
write_case(G, 'request-not-capacity', rv(dv(size='10Gi')), STORAGE + [golden(size='10Gi', capacity='12Gi')],
           ok(rules={'datavolume-clone-size': 'pass'}),
           note="CDI compares with the source claim's request (ValidateRequestedCloneSize), not its capacity")
write_case(G, 'expanded-source-denied', rv(dv(size='10Gi')), STORAGE + [golden(size='20Gi')],
           denied(['smaller than source PVC vms/golden (20Gi)']),
           note='the source was expanded after the golden image was made')
write_case(G, 'no-target-size', rv(dv(size=None)), base, ok(rules={'datavolume-clone-size': 'pass'}))
write_case(G, 'source-unknown-warns', rv(dv(src_name='later')), STORAGE,
           ok(warnings_contain=['datavolume-clone-size', 'is not in the cluster view'],
              rules={'datavolume-clone-size': 'unknown'}))
write_case(G, 'bad-quantity', rv(dv(size='10GB')), base,
           denied(["unknown suffix 'GB'"], code=422, causes_fields=['spec.storage.resources.requests.storage']))
snap = {'apiVersion': 'snapshot.storage.k8s.io/v1', 'kind': 'VolumeSnapshot',
        'metadata': {'name': 'golden-volumesnapshot', 'namespace': 'golden-ns'},
        'spec': {'source': {'persistentVolumeClaimName': 'golden'}, 'volumeSnapshotClassName': 'rbd-snap'},
        'status': {'readyToUse': True, 'restoreSize': '10Gi'}}
cdidoc = yaml.safe_load(open(SHARED + '/reference/cdi-examples/cdi-doc-clone-from-volumesnapshot-source-dv.yaml'))
write_case(G, 'upstream-snapshot-restore-size', rv(cdidoc), STORAGE + [snap],
           denied(['requests 9Gi, smaller than source VolumeSnapshot golden-ns/golden-volumesnapshot (10Gi)']),
           note='source: CDI doc/clone-from-volumesnapshot-source.md DataVolume (9Gi) against a 10Gi snapshot')
write_case(G, 'action-warn', rv(dv(size='5Gi')), base, ok(warnings_contain=['datavolume-clone-size']),
           config={'policy': {'rules': {'datavolume-clone-size': 'warn'}}})

G = 'datavolume-clone-content'
write_case(G, 'kubevirt-both-default', rv(dv()), base, ok(rules={'datavolume-clone-content': 'pass'}))
write_case(G, 'archive-into-kubevirt-denied', rv(dv()), STORAGE + [golden(content='archive')],
           denied(['has contentType kubevirt but source PVC vms/golden holds archive content', 'set spec.contentType: archive'],
                  rules={'datavolume-clone-content': 'fail'}))
write_case(G, 'archive-both', rv(dv(content='archive')), STORAGE + [golden(content='archive')],
           ok(rules={'datavolume-clone-content': 'pass'}))
write_case(G, 'archive-block-to-filesystem-denied', rv(dv(content='archive', mode='Filesystem')),
           STORAGE + [golden(content='archive', mode='Block')],
           denied(['contentType archive cannot be cloned from Block PVC vms/golden to a Filesystem volume']))
write_case(G, 'kubevirt-block-to-filesystem-ok', rv(dv(mode='Filesystem')), STORAGE + [golden(mode='Block')],
           ok(rules={'datavolume-clone-content': 'pass'}))
write_case(G, 'source-unknown-warns', rv(dv(src_name='later')), STORAGE,
           ok(rules={'datavolume-clone-content': 'unknown'}, warnings_contain=['datavolume-clone-content']))
write_case(G, 'action-off', rv(dv()), STORAGE + [golden(content='archive')],
           ok(rules={'datavolume-clone-content': 'skip'}), config={'policy': {'rules': {'datavolume-clone-content': 'off'}}})

G = 'datavolume-clone-volume-mode'
write_case(G, 'block-to-filesystem-warns', rv(dv(api='pvc', mode=None)), STORAGE + [golden(mode='Block')],
           ok(warnings_contain=['Block->Filesystem clone of PVC vms/golden forces a slow host-assisted copy'],
              rules={'datavolume-clone-volume-mode': 'fail'}))
write_case(G, 'filesystem-to-block-warns', rv(dv(mode='Block')), base,
           ok(warnings_contain=['Filesystem->Block']))
write_case(G, 'same-mode', rv(dv(mode='Block')), STORAGE + [golden(mode='Block')],
           ok(no_warnings=True, rules={'datavolume-clone-volume-mode': 'pass'}))
blk = yaml.safe_load(open(SHARED + '/reference/cdi-examples/cdi-clone-block-datavolume.yaml'))
blk['metadata']['namespace'] = NS
write_case(G, 'upstream-clone-block', rv(blk),
           STORAGE + [golden(name='import-kubevirt-block-datavolume', ns='default', mode='Block')],
           ok(no_warnings=True, rules={'datavolume-clone-volume-mode': 'pass'}),
           note='source: CDI manifests/example/clone-block-datavolume.yaml (namespace added)')
write_case(G, 'upstream-clone-block-from-filesystem', rv(blk),
           STORAGE + [golden(name='import-kubevirt-block-datavolume', ns='default')],
           ok(warnings_contain=['Filesystem->Block clone of PVC default/import-kubevirt-block-datavolume']))
write_case(G, 'storage-api-mode-left-to-cdi', rv(dv()), STORAGE + [golden(mode='Block')],
           ok(no_warnings=True, rules={'datavolume-clone-volume-mode': 'pass'}))
write_case(G, 'action-enforce', rv(dv(mode='Block')), base,
           denied(['Filesystem->Block']), config={'policy': {'rules': {'datavolume-clone-volume-mode': 'enforce'}}})

G = 'datavolume-clone-source-in-use'
write_case(G, 'virt-launcher-running-denied', rv(dv()), base + [pod('virt-launcher-web-abcde', 'golden', vmname='web')],
           denied(['PVC vms/golden, which is in use by pod vms/virt-launcher-web-abcde (Running) of VM web',
                   'hang in CloneScheduled', 'stop VM vms/web first'], rules={'datavolume-clone-source-in-use': 'fail'}))
write_case(G, 'pending-pod-denied', rv(dv()), base + [pod('app', 'golden', phase='Pending')],
           denied(['pod vms/app (Pending)', 'stop pod vms/app first']))
write_case(G, 'succeeded-pod-ok', rv(dv()), base + [pod('job', 'golden', phase='Succeeded')],
           ok(rules={'datavolume-clone-source-in-use': 'pass'}))
write_case(G, 'read-only-mount-ok', rv(dv()), base + [pod('cdi-source-pod', 'golden', ro=True)],
           ok(rules={'datavolume-clone-source-in-use': 'pass'}),
           note="CDI's own clone source pod mounts the claim read-only")
write_case(G, 'other-claim-ok', rv(dv()), base + [pod('app', 'other')], ok(rules={'datavolume-clone-source-in-use': 'pass'}))
write_case(G, 'running-vm-without-pod-denied', rv(dv()),
           base + [vm('web', NS, [('root', 'pvc', 'golden')], run='Always')],
           denied(['in use by running VM vms/web', 'stop VM vms/web first']),
           note='the VM is starting: no virt-launcher pod yet, but it will write to the claim')
write_case(G, 'stopped-vm-ok', rv(dv()), base + [vm('web', NS, [('root', 'dv', 'golden')])],
           ok(rules={'datavolume-clone-source-in-use': 'pass'}))
write_case(G, 'pod-in-other-namespace-ok', rv(dv()), base + [pod('app', 'golden', ns='other')],
           ok(rules={'datavolume-clone-source-in-use': 'pass'}))
write_case(G, 'action-warn', rv(dv()), base + [pod('app', 'golden')],
           ok(warnings_contain=['datavolume-clone-source-in-use']),
           config={'policy': {'rules': {'datavolume-clone-source-in-use': 'warn'}}})

G = 'datavolume-snapshot-restorable'
def vsnap(name='s1', ns=NS, ready=True, vscn='zfs-snap', size='10Gi'):
    o = {'apiVersion': 'snapshot.storage.k8s.io/v1', 'kind': 'VolumeSnapshot',
         'metadata': {'name': name, 'namespace': ns},
         'spec': {'source': {'persistentVolumeClaimName': 'golden'}},
         'status': {'readyToUse': ready, 'restoreSize': size}}
    if vscn:
        o['spec']['volumeSnapshotClassName'] = vscn
    return o
write_case(G, 'zfs-ready-ok', rv(dv(src_name='s1', snapshot=True, sc_name='zfs')), STORAGE + [vsnap()],
           ok(no_warnings=True, rules={'datavolume-snapshot-restorable': 'pass', 'datavolume-clone-source': 'skip'}))
write_case(G, 'missing-denied', rv(dv(src_name='s1', snapshot=True)), STORAGE,
           denied(['VolumeSnapshot vms/s1, which does not exist'], rules={'datavolume-snapshot-restorable': 'fail'}))
write_case(G, 'not-ready-denied', rv(dv(src_name='s1', snapshot=True)), STORAGE + [vsnap(ready=False)],
           denied(['VolumeSnapshot vms/s1 is not ready to use']))
write_case(G, 'lvm-cannot-restore-denied', rv(dv(src_name='s1', snapshot=True, sc_name='lvm')),
           STORAGE + [vsnap(vscn='lvm-snap')],
           denied(['provisioner local.csi.openebs.io cannot create a volume from a snapshot', 'clone the source PVC instead']))
write_case(G, 'target-class-from-default', rv(dv(src_name='s1', snapshot=True)), STORAGE + [vsnap(vscn=None)],
           denied(['provisioner openebs.io/local cannot create a volume from a snapshot']),
           note='no class on the snapshot nor the DataVolume: the default StorageClass (hostpath) would restore')
write_case(G, 'snapshot-driver-decides', rv(dv(src_name='s1', snapshot=True, sc_name='hostpath')),
           STORAGE + [vsnap(vscn='zfs-snap')], ok(rules={'datavolume-snapshot-restorable': 'pass'}),
           note='CDI restores with the snapshot driver first, then copies into the target class')
write_case(G, 'unknown-class-warns', rv(dv(src_name='s1', snapshot=True, sc_name='nowhere')), STORAGE + [vsnap(vscn=None)],
           ok(warnings_contain=['datavolume-snapshot-restorable', 'cannot tell which provisioner'],
              rules={'datavolume-snapshot-restorable': 'unknown'}))
write_case(G, 'upstream-cdi-doc-rook', rv(dict(cdidoc, spec=dict(cdidoc['spec'], storage=dict(cdidoc['spec']['storage'], resources={'requests': {'storage': '10Gi'}})))),
           STORAGE + [snap], ok(no_warnings=True, rules={'datavolume-snapshot-restorable': 'pass', 'datavolume-clone-size': 'pass'}),
           note='source: CDI doc/clone-from-volumesnapshot-source.md, size raised to the snapshot restoreSize;\n'
                'rook-ceph.rbd.csi.ceph.com is found in the table by its rbd.csi.ceph.com suffix')
write_case(G, 'upstream-cdi-doc-missing', rv(cdidoc), STORAGE,
           denied(['VolumeSnapshot golden-ns/golden-volumesnapshot, which does not exist']))
write_case(G, 'action-warn', rv(dv(src_name='s1', snapshot=True)), STORAGE,
           ok(warnings_contain=['datavolume-snapshot-restorable']),
           config={'policy': {'rules': {'datavolume-snapshot-restorable': 'warn'}}})

G = 'datavolume-mutate'
def mut(o):
    return rv(o)
write_case(G, 'empty-namespace-filled', mut(dv(src_ns='')), base,
           ok(mutate=True, patch=[{'op': 'replace', 'path': '/spec/source/pvc/namespace', 'value': 'vms'}]))
write_case(G, 'missing-namespace-filled', mut(dv(src_ns=None)), base,
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/source/pvc/namespace', 'value': 'vms'}]))
write_case(G, 'pvc-size-from-capacity', mut(dv(api='pvc', size=None)), STORAGE + [golden(size='10Gi', capacity='10737418240')],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/pvc/resources', 'value': {'requests': {'storage': '10737418240'}}}]))
write_case(G, 'storage-size-from-request', mut(dv(size=None)), STORAGE + [golden(size='3Gi', phase='Pending')],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/storage/resources', 'value': {'requests': {'storage': '3Gi'}}}]))
write_case(G, 'upstream-clone-datavolume-null-storage', mut(up), STORAGE + [golden(name='source-datavolume', ns='source-ns', size='2Gi')],
           ok(mutate=True, patch=[{'op': 'replace', 'path': '/spec/storage', 'value': {'resources': {'requests': {'storage': '2Gi'}}}}]),
           note='source: CDI manifests/example/clone-datavolume.yaml: `storage:` is null')
both = dv(src_ns='', api='pvc', size=None)
write_case(G, 'namespace-and-size', mut(both), base,
           ok(mutate=True, patch=[{'op': 'replace', 'path': '/spec/source/pvc/namespace', 'value': 'vms'},
                                  {'op': 'add', 'path': '/spec/pvc/resources', 'value': {'requests': {'storage': '10Gi'}}}]))
write_case(G, 'already-complete-no-patch', mut(dv()), base, ok(mutate=True, patch=None))
write_case(G, 'size-source-missing-no-patch', mut(dv(size=None, src_name='later')), STORAGE, ok(mutate=True, patch=None))
write_case(G, 'import-not-mutated', mut(imp), STORAGE, ok(mutate=True, patch=None))
write_case(G, 'snapshot-source-not-mutated', mut(dv(src_name='s1', snapshot=True, src_ns='', size=None)), STORAGE + [vsnap()],
           ok(mutate=True, patch=None))
print('ok')

# DataVolumes as KubeVirt creates them from upstream dataVolumeTemplates
def from_dvt(dvt, name, ns):
    return {'apiVersion': 'cdi.kubevirt.io/v1beta1', 'kind': 'DataVolume',
            'metadata': {'name': name, 'namespace': ns,
                         'ownerReferences': [{'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine',
                                              'name': name, 'uid': 'uid-vm-' + name, 'controller': True}]},
            'spec': copy.deepcopy(dvt['spec'])}
rhel = yaml.safe_load(open(SHARED + '/reference/cdi-examples/kubevirt-user-guide-templates-rheltinyvm-pvc-clone.yaml'))['items'][0]
rhel_dv = from_dvt(rhel['spec']['dataVolumeTemplates'][0], 'rheltinyvm', NS)
rhel_src = pvc('rhel', 'kubevirt', 'rook-ceph-block', '30Gi', mode='Block', access=('ReadWriteMany',))
write_case('datavolume-mutate', 'upstream-rheltinyvm-template-size', rv(rhel_dv), STORAGE + [rhel_src],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/storage/resources', 'value': {'requests': {'storage': '30Gi'}}}]),
           note="source: kubevirt/user-guide templates.md rheltinyvm: the DataVolume KubeVirt creates from its\n"
                "dataVolumeTemplate (storage: accessModes only) gets the golden PVC kubevirt/rhel's size")
write_case('datavolume-clone-source', 'upstream-rheltinyvm-template', rv(rhel_dv), STORAGE + [rhel_src],
           ok(no_warnings=True, rules={'datavolume-clone-source': 'pass', 'datavolume-clone-size': 'pass',
                                       'datavolume-clone-volume-mode': 'pass', 'datavolume-clone-content': 'pass'}))
tmpl = yaml.safe_load(open(SHARED + '/reference/cdi-examples/kubevirt-user-guide-vmtemplate-fedora-pvc-clone.yaml'))
fed_dvt = copy.deepcopy(tmpl['spec']['virtualMachine']['spec']['dataVolumeTemplates'][0])
fed_dv = from_dvt(fed_dvt, 'fedora-0a1b2c3d4e5f6a7b-rootdisk', NS)
fed_src = pvc('fedora-golden', 'shared-templates', 'zfs', '12Gi')
write_case('datavolume-mutate', 'upstream-fedora-template-storage-empty', rv(fed_dv), STORAGE + [fed_src],
           ok(mutate=True, patch=[{'op': 'add', 'path': '/spec/storage/resources', 'value': {'requests': {'storage': '12Gi'}}}]),
           note="source: kubevirt/user-guide vm_templates.md fedora-pvc-template (${NAME} expanded): storage: {}")
write_case('datavolume-clone-source-in-use', 'upstream-fedora-golden-in-use', rv(fed_dv),
           STORAGE + [fed_src, pod('virt-launcher-fedora-golden-x1', 'fedora-golden', vmname='fedora-golden', ns='shared-templates')],
           denied(['PVC shared-templates/fedora-golden, which is in use by pod shared-templates/virt-launcher-fedora-golden-x1',
                   'stop VM shared-templates/fedora-golden first']),
           note='the golden image VM was left running: every clone of it would hang in CloneScheduled')
print('ok3')
