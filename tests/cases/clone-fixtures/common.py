"""Generator of the clone-* and datavolume-* admission cases (python3 + PyYAML).

The case directories are committed and reviewed as they are; this script
only saves typing when they change: `python3 clone_cases.py; python3
dv_cases.py` rewrites them (review the git diff).
"""
import json, os, shutil, yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)                                   # tests/cases
SHARED = os.path.join(ROOT, '..', '..', '..', 'shared')        # next to the repo

def review(obj, kind, group, version, resource, op='CREATE', ns=None, name=None, uid=None, old=None, dry=False):
    ns = ns or obj.get('metadata', {}).get('namespace', 'default')
    name = name if name is not None else obj.get('metadata', {}).get('name', '')
    req = {
        'uid': uid or ('case-' + (name or 'x') + '-0001'),
        'kind': {'group': group, 'version': version, 'kind': kind},
        'resource': {'group': group, 'version': version, 'resource': resource},
        'requestKind': {'group': group, 'version': version, 'kind': kind},
        'namespace': ns, 'name': name, 'operation': op,
        'userInfo': {'username': 'alice', 'groups': ['system:authenticated']},
        'object': obj, 'dryRun': dry,
    }
    if old is not None:
        req['oldObject'] = old
    return {'apiVersion': 'admission.k8s.io/v1', 'kind': 'AdmissionReview', 'request': req}

def write_case(group, case, rev, cluster, expected, config=None, note=None):
    d = os.path.join(ROOT, group, case)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, 'cluster'))
    with open(os.path.join(d, 'review.json'), 'w') as f:
        json.dump(rev, f, indent=2)
        f.write('\n')
    with open(os.path.join(d, 'cluster', 'state.yaml'), 'w') as f:
        if note:
            f.write('# ' + note.replace('\n', '\n# ') + '\n')
        yaml.safe_dump_all(cluster, f, sort_keys=False, default_flow_style=False)
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')
    if config:
        with open(os.path.join(d, 'config.yaml'), 'w') as f:
            yaml.safe_dump(config, f, sort_keys=False)

def sc(name, prov, default=False, binding='Immediate'):
    o = {'apiVersion': 'storage.k8s.io/v1', 'kind': 'StorageClass', 'metadata': {'name': name},
         'provisioner': prov, 'volumeBindingMode': binding}
    if default:
        o['metadata']['annotations'] = {'storageclass.kubernetes.io/is-default-class': 'true'}
    return o

def vsc(name, driver, default=None):
    o = {'apiVersion': 'snapshot.storage.k8s.io/v1', 'kind': 'VolumeSnapshotClass',
         'metadata': {'name': name}, 'driver': driver, 'deletionPolicy': 'Delete'}
    if default is not None:
        o['metadata']['annotations'] = {'snapshot.storage.kubernetes.io/is-default-class': default}
    return o

def pvc(name, ns, scname, size='10Gi', mode=None, access=('ReadWriteOnce',), phase='Bound', capacity=None, ann=None):
    o = {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',
         'metadata': {'name': name, 'namespace': ns},
         'spec': {'accessModes': list(access), 'resources': {'requests': {'storage': size}}},
         'status': {'phase': phase}}
    if scname is not None:
        o['spec']['storageClassName'] = scname
    if mode:
        o['spec']['volumeMode'] = mode
    if phase == 'Bound':
        o['status']['capacity'] = {'storage': capacity or size}
    if ann:
        o['metadata']['annotations'] = ann
    return o

def vm(name, ns, volumes, run='Halted', labels=None, interfaces=None, firmware=None, status=None, running=None, dvts=None):
    spec = {'template': {'metadata': {'labels': {'kubevirt.io/vm': name}},
                         'spec': {'domain': {'devices': {'disks': [{'name': v[0], 'disk': {'bus': 'virtio'}} for v in volumes]},
                                             'memory': {'guest': '1Gi'}},
                                  'volumes': []}}}
    if running is not None:
        spec['running'] = running
    else:
        spec['runStrategy'] = run
    for vname, vtype, claim in volumes:
        if vtype == 'pvc':
            spec['template']['spec']['volumes'].append({'name': vname, 'persistentVolumeClaim': {'claimName': claim}})
        elif vtype == 'dv':
            spec['template']['spec']['volumes'].append({'name': vname, 'dataVolume': {'name': claim}})
        elif vtype == 'cd':
            spec['template']['spec']['volumes'].append({'name': vname, 'containerDisk': {'image': claim}})
    if interfaces:
        spec['template']['spec']['domain']['devices']['interfaces'] = interfaces
        spec['template']['spec']['networks'] = [{'name': i['name'], 'pod': {}} for i in interfaces[:1]]
    if firmware:
        spec['template']['spec']['domain']['firmware'] = firmware
    if dvts:
        spec['dataVolumeTemplates'] = dvts
    o = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine',
         'metadata': {'name': name, 'namespace': ns, 'uid': 'uid-vm-' + name, 'labels': labels or {'app': name}},
         'spec': spec}
    if status:
        o['status'] = status
    return o

def vmi(name, ns, phase='Running', owner=True):
    o = {'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachineInstance',
         'metadata': {'name': name, 'namespace': ns}, 'spec': {'domain': {'devices': {}}},
         'status': {'phase': phase}}
    if owner:
        o['metadata']['ownerReferences'] = [{'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine',
                                             'name': name, 'uid': 'uid-vm-' + name, 'controller': True}]
    return o
