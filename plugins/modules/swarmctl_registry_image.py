#!/usr/bin/python
# swarmctl: put an image into the private registry.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_registry_image
short_description: Put images into a registry, from archives or local images, and report their digests
description:
  - For each of O(images) - loads it from its C(archive) (a C(docker save) tar on the host, which may hold
    several images) unless the engine already holds it, or takes the local image C(source); tags it
    C(name:tag); pushes it; returns the registry's digest.
  - Idempotent - nothing is loaded, tagged or pushed when the registry already serves that very image under
    C(name:tag). C(changed) is true only when an image was loaded or tagged, or a tag's digest in the
    registry moved.
  - Credentials come from the Docker client configuration of the user the module runs as (see
    M(swarmctl.swarm.swarmctl_registry_client)); TLS trust from C(/etc/docker/certs.d).
options:
  images:
    description: Images to put into the registry.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Repository, e.g. C(web); prefixed with O(registry) when that is given.
        type: str
        required: true
      tag:
        description: Tag to push.
        type: str
        required: true
      archive:
        description:
          - Path on the host of a C(docker save) archive holding the image. With O(archive_dir), only its file
            name counts (the archive was copied there).
        type: path
      source:
        description:
          - The image to push, as named locally or in the archive (name:tag or id). Required unless the
            archive holds a single image.
        type: str
  registry:
    description: Registry host (C(host) or C(host:port)) that image names are prefixed with.
    type: str
  archive_dir:
    description: Directory on the host where the archives are.
    type: path
  missing_archive_ok:
    description:
      - When an image is neither on the host nor its archive there, list the archive in C(missing_archives)
        instead of failing, so the caller copies only the archives that are needed and calls again.
    type: bool
    default: false
  push:
    description: Push to the registry. With C(false) the images are only loaded and tagged.
    type: bool
    default: true
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes.diff
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: A second run with the same arguments changes nothing and pushes nothing.
    support: full
requirements:
  - docker (python3-docker) on the host
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Push the demo web images from one archive
  swarmctl.swarm.swarmctl_registry_image:
    registry: westos.org
    images:
      - {name: web, tag: v1, archive: /var/cache/swarmctl/images/demo.tar, source: "demo/web:v1"}
      - {name: web, tag: v2, archive: /var/cache/swarmctl/images/demo.tar, source: "demo/web:v2"}
"""

RETURN = r"""
missing_archives:
  description: Archives (as given in O(images)) still needed on the host; only with O(missing_archive_ok).
  returned: success
  type: list
  elements: str
images:
  description: Per image - reference, image_id, digest (after the run; in check mode, before it), actions.
  returned: success
  type: list
  elements: dict
  sample:
    - reference: westos.org/web:v1
      image_id: sha256:9790cf...
      digest: sha256:4a1c...
      actions: [loaded, tagged, pushed]
"""

import json
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS, api_error_text, docker_client, errors


class ImageError(Exception):
    pass


def archive_images(path):
    """{image id: [repo tags]} of a `docker save` archive (legacy or OCI layout), read without loading it."""
    try:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
        raise ImageError(f"{path} is not a readable `docker save` archive: {exc}") from None
    found = {}
    for entry in manifest:
        digest = entry["Config"].rsplit("/", 1)[-1].replace(".json", "")
        found["sha256:" + digest] = list(entry.get("RepoTags") or [])
    return found


def image_id_in_archive(contents, source, archive):
    if source:
        for image_id, tags in contents.items():
            if source in tags or image_id == source or image_id.startswith("sha256:" + source):
                return image_id
        raise ImageError(f"{archive} holds no image {source!r} (it holds {sorted(t for v in contents.values() for t in v)})")
    if len(contents) != 1:
        raise ImageError(f"{archive} holds {len(contents)} images; say which with `source`")
    return next(iter(contents))


def remote_digest(client, reference):
    try:
        return client.api.inspect_distribution(reference)["Descriptor"]["digest"]
    except (errors.NotFound, errors.APIError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise ImageError(f"the registry refused to show {reference}: {api_error_text(exc)}. "
                             "Log the host in first (swarmctl_registry_login).") from None
        return None


def push(client, name, tag):
    digest = None
    for line in client.api.push(name, tag=tag, stream=True, decode=True):
        if line.get("error"):
            raise ImageError(f"pushing {name}:{tag} failed: {line['error']}")
        digest = (line.get("aux") or {}).get("Digest", digest)
    return digest


def get_image(client, ref):
    try:
        return client.images.get(ref)
    except errors.ImageNotFound:
        return None


def main():
    args = dict(
        images=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            tag=dict(type="str", required=True),
            archive=dict(type="path"),
            source=dict(type="str"),
        )),
        registry=dict(type="str"),
        archive_dir=dict(type="path"),
        missing_archive_ok=dict(type="bool", default=False),
        push=dict(type="bool", default=True),
        **DOCKER_COMMON_ARGS,
    )
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    client = docker_client(module)
    results = []
    missing = []
    loaded = set()
    try:
        # Ask the registry about every tag at once; most runs only need these answers.
        targets = [f"{(module.params['registry'] + '/') if module.params['registry'] else ''}{i['name']}:{i['tag']}"
                   for i in module.params["images"]]
        with ThreadPoolExecutor(max_workers=8) as pool:
            digests = dict(zip(targets, pool.map(lambda t: remote_digest(client, t), targets)))
        for given in module.params["images"]:
            spec = dict(given)
            if module.params["registry"]:
                spec["name"] = f"{module.params['registry']}/{spec['name']}"
            if module.params["archive_dir"] and spec["archive"]:
                spec["archive"] = os.path.join(module.params["archive_dir"], os.path.basename(spec["archive"]))
            if (module.params["missing_archive_ok"] and spec["archive"] and not os.path.exists(spec["archive"])
                    and not (spec["source"] and get_image(client, spec["source"]))):
                if given["archive"] not in missing:
                    missing.append(given["archive"])
                continue
            results.append(put_image(module, client, spec, loaded, digests))
    except ImageError as exc:
        module.fail_json(msg=str(exc), images=results)
    except errors.APIError as exc:
        module.fail_json(msg=api_error_text(exc), images=results)
    changed = any(r["actions"] for r in results)
    result = dict(changed=changed, images=results, missing_archives=missing)
    if module._diff:
        result["diff"] = dict(
            before="".join(f"{r['reference']} {r['digest_before'] or '(absent)'}\n" for r in results),
            after="".join(f"{r['reference']} {r['digest'] or '(new push)'}\n" for r in results),
        )
    module.exit_json(**result)


def put_image(module, client, spec, loaded, digests):
    if not spec["archive"] and not spec["source"]:
        raise ImageError(f"{spec['name']}:{spec['tag']}: give an archive or a source image")
    target = f"{spec['name']}:{spec['tag']}"
    actions = []
    if spec["archive"] and not os.path.exists(spec["archive"]) and spec["source"] and get_image(client, spec["source"]):
        spec = dict(spec, archive=None)  # already loaded earlier: the archive is not needed
    if spec["archive"]:
        if not os.path.exists(spec["archive"]):
            if module.check_mode:  # copied earlier in the same run; not there in check mode
                return dict(reference=target, image_id=None, digest=None, digest_before=None,
                            actions=["loaded", "tagged"] + (["pushed"] if module.params["push"] else []))
            raise ImageError(f"archive {spec['archive']} does not exist on this host")
        image_id = image_id_in_archive(archive_images(spec["archive"]), spec["source"], spec["archive"])
        image = get_image(client, image_id)
        if image is None:
            actions.append("loaded")
            if not module.check_mode:
                if spec["archive"] not in loaded:
                    with open(spec["archive"], "rb") as handle:
                        client.images.load(handle.read())
                    loaded.add(spec["archive"])
                image = get_image(client, image_id)
    else:
        image = get_image(client, spec["source"])
        if image is None:
            raise ImageError(f"no local image {spec['source']!r} on this host; build or pull it first, or give an archive")
        image_id = image.id

    if image is None or target not in image.tags:
        actions.append("tagged")
        if not module.check_mode:
            image.tag(spec["name"], spec["tag"])
            image.reload()

    before = digest = None
    if module.params["push"]:
        before = digest = digests[target] if target in digests else remote_digest(client, target)
        here = image is not None and before and f"{spec['name']}@{before}" in image.attrs.get("RepoDigests", [])
        if not here:
            if module.check_mode:
                actions.append("pushed")
            else:
                digest = push(client, spec["name"], spec["tag"]) or remote_digest(client, target)
                if digest != before:
                    actions.append("pushed")
    return dict(reference=target, image_id=image_id, digest=digest, digest_before=before, actions=actions)


if __name__ == "__main__":
    main()
